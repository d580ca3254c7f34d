// The <title> of an HTML page, for link previews: what a browser would show
// in its tab, bounded and safe to put in a JSON string.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace loopchat {

inline constexpr std::size_t kMaxTitleCodePoints = 200;

// The text of the first <title ...>...</title> (tag names case-insensitive;
// comments skipped): entities decoded (amp lt gt quot apos nbsp, &#NN;,
// &#xHH;), ASCII whitespace folded to single spaces and trimmed, invalid
// UTF-8 replaced by U+FFFD, at most kMaxTitleCodePoints code points. None if
// there is no title or it is empty. An unclosed title runs to the end of `html`.
std::optional<std::string> extract_title(std::string_view html);

// Whether a Content-Type header value names HTML (text/html or
// application/xhtml+xml, parameters ignored).
bool is_html_content_type(std::string_view content_type);

}  // namespace loopchat
