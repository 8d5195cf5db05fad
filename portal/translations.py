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
    # teams
    "Tổ": "Teams",
    "Tìm tổ": "Search teams",
    "Tìm theo tên tổ hoặc xã, phường…": "Search by team, commune or ward name…",
    "Không có tổ nào.": "No teams.",
    "Không tìm thấy tổ số {id}.": "There is no team number {id}.",
    "Thành viên": "Members",
    "Tổ chưa có thành viên.": "The team has no members yet.",
    "Họ tên": "Full name",
    "Vai trò": "Role",
    "Điện thoại": "Phone",
    "Ngày sinh": "Date of birth",
    "Quyết định": "Decision",
    "Thành lập": "Established",
    "Phụ trách": "Covers",
    "Tổ trưởng": "Team leader",
    "Tổ phó": "Deputy leader",
    "Tổ viên": "Member",
    # accounts
    "Tài khoản": "Accounts",
    "Tìm tài khoản": "Search accounts",
    "Tên đăng nhập hoặc họ tên": "Username or full name",
    "Không có tài khoản nào.": "No accounts.",
    "Không tìm thấy tài khoản số {id}.": "There is no account number {id}.",
    "Tạo tài khoản": "Create account",
    "Đã tạo tài khoản.": "Account created.",
    "Chưa tạo được tài khoản: hãy sửa các ô được đánh dấu.": (
        "The account was not created: correct the marked fields."
    ),
    "Chưa lưu: hãy sửa các ô được đánh dấu.": "Not saved: correct the marked fields.",
    "Đã lưu.": "Saved.",
    "Lưu": "Save",
    "Hủy": "Cancel",
    "Vai trò và phạm vi": "Role and scope",
    "Xã, phường (cán bộ xã và tổ trưởng)": "Commune or ward (officers and team leaders)",
    "Tổ (chỉ cho tổ trưởng)": "Team (team leaders only)",
    "(chọn xã, phường trước)": "(choose the commune or ward first)",
    "Quản trị thành phố": "City admin",
    "Cán bộ xã, phường": "Commune officer",
    "Chỉ quản trị thành phố được quản lý tài khoản.": "Only city admins manage accounts.",
    "Chọn một vai trò.": "Choose a role.",
    "Chọn xã, phường của tài khoản.": "Choose the account's commune or ward.",
    "Chọn tổ của tổ trưởng (một tổ thuộc xã, phường đã chọn).": (
        "Choose the leader's team (a team of the chosen commune or ward)."
    ),
    "Tên đăng nhập gồm 3–40 chữ cái không dấu, số, dấu chấm, gạch ngang hoặc gạch dưới.": (
        "A username has 3–40 unaccented letters, digits, dots, hyphens or underscores."
    ),
    "Tên đăng nhập này đã có người dùng.": "This username is taken.",
    "Nhập họ tên.": "Enter the full name.",
    "Bạn không thể tự bỏ quyền quản trị của mình.": "You cannot remove your own admin role.",
    "Bạn không thể tự khóa tài khoản của mình.": "You cannot disable your own account.",
    "Trạng thái": "Status",
    "Đang hoạt động": "Active",
    "Đã khóa": "Disabled",
    "Khóa tài khoản": "Disable account",
    "Mở khóa tài khoản": "Enable account",
    "Khóa tài khoản {u}? Người này sẽ không đăng nhập được nữa.": (
        "Disable the account {u}? Its owner will no longer be able to sign in."
    ),
    "Đặt lại mật khẩu": "Reset password",
    "Mật khẩu mới": "New password",
    "Mật khẩu ban đầu": "Initial password",
    "Ít nhất 12 ký tự, không nằm trong danh sách mật khẩu phổ biến.": (
        "At least 12 characters, and not among the commonest passwords."
    ),
    "Đã đặt mật khẩu mới; các phiên đăng nhập cũ của tài khoản đã kết thúc.": (
        "New password set; the account's earlier sessions have ended."
    ),
    "Mật khẩu không được chứa tên đăng nhập.": "The password may not contain the username.",
    "Mật khẩu này nằm trong danh sách mật khẩu phổ biến nhất. Hãy chọn mật khẩu khác.": (
        "This password is among the commonest passwords. Choose another."
    ),
    "Mật khẩu quá dễ đoán. Hãy dùng một cụm nhiều từ hoặc thêm ký tự khác loại.": (
        "This password is too easy to guess. Use a phrase of several words or mix characters."
    ),
    "Đăng nhập sai quá nhiều lần. Hãy thử lại sau {m} phút.": (
        "Too many failed sign-ins. Try again in {m} minutes."
    ),
    "Phiên làm việc đã kết thúc vì lâu không hoạt động. Hãy đăng nhập lại.": (
        "Your session ended after a period of inactivity. Please sign in again."
    ),
    # pagination
    "Trang": "Pages",
    "Trang {n}/{m}": "Page {n} of {m}",
    # history (audit log)
    "Lịch sử thay đổi": "Change history",
    "Chưa có thay đổi nào được ghi lại.": "No changes recorded yet.",
    "Trường": "Field",
    "Tạo": "Created",
    "Sửa": "Changed",
    "Xóa": "Deleted",
    "địa bàn": "area",
    "tổ": "team",
    "phạm vi phụ trách": "coverage",
    "thành viên": "member",
    "tài khoản": "account",
    "quy định số thành viên": "team size rule",
    "{type}, {n} đỉnh": "{type}, {n} vertices",
    "Mã số": "Id",
    "Tên": "Name",
    "Tên tiếng Anh": "English name",
    "Mã": "Code",
    "Loại": "Kind",
    "Cấp": "Level",
    "Đơn vị cấp trên": "Parent unit",
    "Ranh giới": "Boundary",
    "Hiệu lực đến": "In force until",
    "Số quyết định": "Decision number",
    "Ngày quyết định": "Decision date",
    "Xã, phường": "Commune or ward",
    "Lượt đặt lại mật khẩu": "Password resets",
}
