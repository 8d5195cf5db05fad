from portal.text import fold, nfc, search_words, vietnamese_key, without_kind


def test_fold_removes_diacritics_and_maps_d_bar():
    assert fold("Phường Ba Đình") == "phuong ba dinh"
    assert fold("ĐẶC KHU  Bạch Long Vĩ") == "dac khu bach long vi"
    assert fold("đ") == "d"


def test_fold_of_decomposed_input_equals_fold_of_composed():
    assert fold("Phu\u031bo\u031b\u0300ng") == fold("Phường") == "phuong"


def test_nfc_composes_and_trims():
    assert nfc("  Ba \u0110i\u0300nh ") == "Ba Đình"


# --- issue 14: search words and Vietnamese order ---


def test_search_words_write_out_abbreviations_and_split_numbers():
    def folded(text):
        return [w.folded for w in search_words(text)]

    assert folded("tdp 7 ngoc ha") == ["to", "dan", "pho", "7", "ngoc", "ha"]
    assert folded("TDP7") == ["to", "dan", "pho", "7"]
    assert folded("p. Ba Đình") == folded("p.ba dinh") == ["phuong", "ba", "dinh"]
    assert folded("x ngoc hoi") == ["xa", "ngoc", "hoi"]
    assert folded("kp 3") == ["khu", "pho", "3"]
    assert folded("tổ dân phố số 7") == ["to", "dan", "pho", "7"]  # "số" before a number
    assert folded("Thôn Số") == ["thon", "so"]  # a name's own word stays
    assert [w.typed for w in search_words("Ngọc HÀ")] == ["ngọc", "hà"]
    assert [w.number for w in search_words("tdp 17")] == [False, False, False, True]


def test_vietnamese_order_puts_marked_letters_after_their_base_and_numbers_by_value():
    names = [
        "Đông",
        "Dương",
        "Ân",
        "Ăn",
        "An",
        "Ba Vì",
        "Bà Vì",
        "Bạch Mai",
        "Ba Đình",
        "Ô",
        "Ơ",
        "O",
    ]
    names += ["Hai Bà Trưng", "Hà Đông", "số 10", "số 2", "Ứng", "Uy"]
    assert sorted(names, key=vietnamese_key) == [
        "An", "Ăn", "Ân", "Ba Đình", "Ba Vì", "Bà Vì", "Bạch Mai", "Dương", "Đông",
        "Hà Đông", "Hai Bà Trưng", "O", "Ô", "Ơ", "số 2", "số 10", "Uy", "Ứng",
    ]  # fmt: skip


def test_without_kind_keeps_the_own_name():
    assert without_kind("Phường Ba Đình") == "Ba Đình"
    assert without_kind("Xã Ngọc Hồi") == "Ngọc Hồi"
    assert without_kind("Tổ dân phố số 7") == "số 7"
    assert without_kind("Phường") == "Phường"  # nothing left: the name as it is
    assert without_kind("Xãnh Tươi") == "Xãnh Tươi"
