#include "client/load/message_scan.hpp"

#include <charconv>

namespace loopchat::load {

namespace {
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
}  // namespace

std::optional<std::string_view> json_string_field(std::string_view json, std::string_view key) {
  size_t from = 0;
  for (;;) {
    const size_t at = json.find(key, from);
    if (at == std::string_view::npos) return std::nullopt;
    from = at + 1;
    // A key is `"key"` followed by a colon; anything else is a value that
    // happens to contain the same letters.
    if (at == 0 || json[at - 1] != '"') continue;
    size_t pos = at + key.size();
    if (pos >= json.size() || json[pos] != '"') continue;
    ++pos;
    while (pos < json.size() && is_space(json[pos])) ++pos;
    if (pos >= json.size() || json[pos] != ':') continue;
    ++pos;
    while (pos < json.size() && is_space(json[pos])) ++pos;
    if (pos >= json.size() || json[pos] != '"') return std::nullopt;
    const size_t start = pos + 1;
    for (size_t i = start; i < json.size(); ++i) {
      if (json[i] == '\\') {
        ++i;
      } else if (json[i] == '"') {
        return json.substr(start, i - start);
      }
    }
    return std::nullopt;
  }
}

void append_say_text(std::string& out, const SayMarker& marker, size_t size) {
  const size_t start = out.size();
  char number[24];
  out.append("t=");
  out.append(number, std::to_chars(number, number + sizeof number, marker.intended_us).ptr);
  out.append(";s=");
  out.append(number, std::to_chars(number, number + sizeof number, marker.sender).ptr);
  out.push_back(';');
  const size_t used = out.size() - start;
  if (size > used) out.append(size - used, 'x');
}

std::optional<SayMarker> parse_say_text(std::string_view text) {
  if (text.size() < 6 || text[0] != 't' || text[1] != '=') return std::nullopt;
  SayMarker m;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data() + 2, end, m.intended_us);
  if (ec != std::errc() || end - p < 4 || p[0] != ';' || p[1] != 's' || p[2] != '=') {
    return std::nullopt;
  }
  auto [q, ec2] = std::from_chars(p + 3, end, m.sender);
  if (ec2 != std::errc() || q == end || *q != ';') return std::nullopt;
  return m;
}

}  // namespace loopchat::load
