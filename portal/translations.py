"""English for every Vietnamese string the portal shows (tests/test_i18n.py keeps it complete)."""

EN: dict[str, str] = {
    # layout and navigation
    "Cổng thông tin tổ bảo vệ an ninh, trật tự": "Security and order teams portal",
    "Tổ bảo vệ ANTT cơ sở": "Grassroots security teams",
    "Điều hướng chính": "Main navigation",
    "Địa bàn": "Areas",
    "Đăng nhập": "Sign in",
    "Đăng xuất": "Sign out",
    "Về trang chủ": "Back to the home page",
    "Vị trí": "Location",
    # sign-in
    "Dành cho cán bộ công an, UBND xã và tổ trưởng tổ bảo vệ ANTT.": (
        "For police and commune officers and security team leaders."
    ),
    "Tên đăng nhập": "Username",
    "Mật khẩu": "Password",
    "Tên đăng nhập hoặc mật khẩu không đúng.": "Wrong username or password.",
    "Mật khẩu phải có ít nhất {n} ký tự.": "A password needs at least {n} characters.",
    # area browser
    "Tìm": "Search",
    "Tìm địa bàn": "Search areas",
    "Tìm xã, phường, thôn, tổ dân phố… (gõ không dấu cũng được)": (
        "Search communes, wards, villages, residential groups… (accents optional)"
    ),
    "Nhập ít nhất 2 ký tự.": "Type at least 2 characters.",
    "Không có địa bàn nào khớp với “{q}”.": "No area matches “{q}”.",
    "Trước": "Previous",
    "Sau": "Next",
    "Xem thêm": "Show more",
    "Đang tải…": "Loading…",
    "Cây địa bàn": "Area tree",
    (
        "Chưa có địa bàn nào. Hãy nhập ranh giới (flask import-boundaries) "
        "hoặc dữ liệu mẫu (flask seed-demo)."
    ): ("No areas yet. Import boundaries (flask import-boundaries) or the demo (flask seed-demo)."),
    "Không tìm thấy địa bàn số {id}.": "There is no area number {id}.",
    "mã": "code",
    "đã hết hiệu lực từ {d}": "no longer in force since {d}",
    "Địa bàn này chưa có ranh giới trên bản đồ.": "This area has no boundary on the map yet.",
    "Thông tin": "Details",
    "Dân số": "Population",
    "Số hộ": "Households",
    "Diện tích": "Land area",
    "Hiệu lực từ": "In force since",
    "Theo quyết định": "By decision",
    "Tổ bảo vệ ANTT": "Security team",
    "Chưa có tổ": "No team yet",
    "Địa bàn trực thuộc": "Areas within",
    # kinds of area
    "Thành phố trực thuộc trung ương": "Centrally-run city",
    "Tỉnh": "Province",
    "Quận": "Urban district",
    "Huyện": "Rural district",
    "Thị xã": "Town",
    "Thành phố thuộc tỉnh": "Provincial city",
    "Phường": "Ward",
    "Xã": "Commune",
    "Đặc khu": "Special zone",
    "Thôn": "Village (thôn)",
    "Làng": "Village (làng)",
    "Ấp": "Hamlet (ấp)",
    "Bản": "Hamlet (bản)",
    "Tổ dân phố": "Residential group",
    "Khu phố": "Neighbourhood (khu phố)",
    "Khóm": "Neighbourhood (khóm)",
    # errors
    "Yêu cầu không hợp lệ": "Bad request",
    "Không có quyền truy cập": "Access denied",
    "Không tìm thấy": "Not found",
    "Phương thức không được phép": "Method not allowed",
    "Dữ liệu không hợp lệ": "Invalid data",
    "Lỗi hệ thống": "Server error",
    "Dịch vụ tạm thời không sẵn sàng": "Service temporarily unavailable",
    "Tài khoản của bạn không được phép xem trang này.": "Your account may not see this page.",
    "Trang hoặc đối tượng bạn tìm không tồn tại, hoặc nằm ngoài phạm vi của bạn.": (
        "The page or object does not exist, or lies outside your scope."
    ),
    "Địa chỉ này không nhận phương thức yêu cầu đó.": "This address does not accept that method.",
    "Phiên làm việc đã hết hạn hoặc thiếu mã CSRF. Hãy tải lại trang.": (
        "Your session expired or the CSRF token is missing. Reload the page."
    ),
    "Đã có lỗi xảy ra. Xin thử lại sau.": "Something went wrong. Please try again later.",
    # boundary import problems
    "Tệp: {text}": "File: {text}",
    "Đối tượng #{index}": "Feature #{index}",
    " (mã {code})": " (code {code})",
    "Không nhập gì: {n} lỗi trong tệp.": "Nothing imported: {n} problems in the file.",
    "Tệp không phải văn bản UTF-8": "The file is not UTF-8 text",
    "Tệp rỗng": "The file is empty",
    "Tệp không phải JSON hợp lệ": "The file is not valid JSON",
    "Tệp không phải GeoJSON FeatureCollection": "The file is not a GeoJSON FeatureCollection",
    "Hệ tọa độ của tệp không phải WGS 84 (EPSG:4326)": "The file's CRS is not WGS 84 (EPSG:4326)",
    "Tệp không có đối tượng nào": "The file has no features",
    "Phần tử không phải một Feature": "The item is not a Feature",
    "Thiếu hình học": "Geometry missing",
    "Sai kiểu hình học (cần Polygon hoặc MultiPolygon)": (
        "Wrong geometry type (Polygon or MultiPolygon needed)"
    ),
    "Hình học rỗng": "Empty geometry",
    "Tọa độ sai cấu trúc": "Malformed coordinates",
    "Tọa độ có độ cao (3D); chỉ nhận kinh độ, vĩ độ": (
        "Coordinates have a height (3D); only longitude and latitude are accepted"
    ),
    "Tọa độ nằm ngoài kinh độ/vĩ độ WGS 84 (có thể là mét của hệ VN-2000)": (
        "Coordinates outside WGS 84 longitude/latitude (perhaps VN-2000 metres)"
    ),
    "Kinh độ và vĩ độ bị đảo chỗ": "Longitude and latitude are swapped",
    "Vòng ranh giới có ít hơn 4 điểm": "A ring has fewer than 4 positions",
    "Vòng ranh giới không khép kín": "A ring is not closed",
    "Hình học không hợp lệ": "Invalid geometry",
    "Thiếu mã đơn vị": "Unit code missing",
    "Thiếu tên": "Name missing",
    "Mã trùng với đối tượng khác trong tệp": "Code already used by another feature of the file",
    "Không nhận ra loại đơn vị từ tên": "The kind of unit cannot be told from the name",
    "Không tìm thấy đơn vị cấp trên chứa đối tượng này": "No parent unit contains this feature",
}
