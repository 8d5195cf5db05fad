from portal.text import fold, nfc


def test_fold_removes_diacritics_and_maps_d_bar():
    assert fold("Phường Ba Đình") == "phuong ba dinh"
    assert fold("ĐẶC KHU  Bạch Long Vĩ") == "dac khu bach long vi"
    assert fold("đ") == "d"


def test_fold_of_decomposed_input_equals_fold_of_composed():
    assert fold("Phu\u031bo\u031b\u0300ng") == fold("Phường") == "phuong"


def test_nfc_composes_and_trims():
    assert nfc("  Ba \u0110i\u0300nh ") == "Ba Đình"
