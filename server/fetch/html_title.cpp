#include "server/fetch/html_title.hpp"

#include <array>
#include <cstdint>

namespace loopchat {

namespace {

constexpr char32_t kReplacement = 0xFFFD;

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals_at(std::string_view text, std::size_t pos, std::string_view word) {
  if (text.size() - pos < word.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i)
    if (lower(text[pos + i]) != word[i]) return false;
  return true;
}

bool is_ascii_space(char32_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

// Position of the first case-insensitive "<" + name that is a whole tag name,
// skipping comments; npos if none.
std::size_t find_tag(std::string_view html, std::size_t from, std::string_view name) {
  for (std::size_t pos = html.find('<', from); pos != std::string_view::npos;
       pos = html.find('<', pos + 1)) {
    if (html.compare(pos, 4, "<!--") == 0) {
      const auto end = html.find("-->", pos + 4);
      if (end == std::string_view::npos) return std::string_view::npos;
      pos = end + 2;
      continue;
    }
    if (!iequals_at(html, pos + 1, name)) continue;
    const auto after = pos + 1 + name.size();
    if (after == html.size()) return std::string_view::npos;
    const char c = html[after];
    if (c == '>' || c == '/' || is_ascii_space(static_cast<unsigned char>(c))) return pos;
  }
  return std::string_view::npos;
}

// The end of the tag starting at `pos` (one past its '>'), quotes respected.
std::size_t tag_end(std::string_view html, std::size_t pos) {
  char quote = 0;
  for (; pos < html.size(); ++pos) {
    const char c = html[pos];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '>') {
      return pos + 1;
    }
  }
  return std::string_view::npos;
}

// Decodes one UTF-8 sequence at `pos`, advancing it; U+FFFD for each byte
// that does not start a valid, shortest-form sequence.
char32_t decode_utf8(std::string_view text, std::size_t& pos) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  if (lead < 0x80) return ++pos, lead;
  std::size_t length;
  char32_t cp;
  char32_t min;
  if ((lead & 0xE0) == 0xC0) {
    length = 2, cp = lead & 0x1F, min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, cp = lead & 0x0F, min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, cp = lead & 0x07, min = 0x10000;
  } else {
    return ++pos, kReplacement;
  }
  if (text.size() - pos < length) return ++pos, kReplacement;
  for (std::size_t i = 1; i < length; ++i) {
    const unsigned char next = byte(pos + i);
    if ((next & 0xC0) != 0x80) return ++pos, kReplacement;
    cp = (cp << 6) | (next & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return ++pos, kReplacement;
  pos += length;
  return cp;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes the entity at `pos` (on '&'), advancing past it; nullopt (and `pos`
// unchanged) if it is not one we know, so the '&' stays literal.
std::optional<char32_t> decode_entity(std::string_view text, std::size_t& pos) {
  std::size_t i = pos + 1;
  if (i < text.size() && text[i] == '#') {
    ++i;
    const bool hex = i < text.size() && (text[i] == 'x' || text[i] == 'X');
    if (hex) ++i;
    const std::size_t digits_start = i;
    std::uint32_t value = 0;
    for (; i < text.size(); ++i) {
      const char c = text[i];
      int digit;
      if (c >= '0' && c <= '9') {
        digit = c - '0';
      } else if (hex && lower(c) >= 'a' && lower(c) <= 'f') {
        digit = lower(c) - 'a' + 10;
      } else {
        break;
      }
      if (value <= 0x10FFFF) value = value * (hex ? 16 : 10) + static_cast<std::uint32_t>(digit);
    }
    if (i == digits_start) return std::nullopt;
    if (i < text.size() && text[i] == ';') ++i;
    pos = i;
    if (value == 0 || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return kReplacement;
    return static_cast<char32_t>(value);
  }
  static constexpr std::array<std::pair<std::string_view, char32_t>, 6> kNamed{{
      {"amp;", U'&'},
      {"lt;", U'<'},
      {"gt;", U'>'},
      {"quot;", U'"'},
      {"apos;", U'\''},
      {"nbsp;", 0xA0},
  }};
  for (const auto& [name, cp] : kNamed) {
    if (text.compare(i, name.size(), name) == 0) {
      pos = i + name.size();
      return cp;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> extract_title(std::string_view html) {
  const auto open = find_tag(html, 0, "title");
  if (open == std::string_view::npos) return std::nullopt;
  const auto start = tag_end(html, open);
  if (start == std::string_view::npos) return std::nullopt;
  auto close = html.size();
  for (auto pos = html.find('<', start); pos != std::string_view::npos;
       pos = html.find('<', pos + 1)) {
    if (html.compare(pos, 2, "</") == 0 && iequals_at(html, pos + 2, "title")) {
      close = pos;
      break;
    }
  }
  const auto raw = html.substr(start, close - start);

  std::string out;
  std::size_t code_points = 0;
  bool pending_space = false;
  for (std::size_t pos = 0; pos < raw.size() && code_points < kMaxTitleCodePoints;) {
    char32_t cp;
    if (raw[pos] == '&') {
      if (auto decoded = decode_entity(raw, pos)) {
        cp = *decoded;
      } else {
        cp = '&';
        ++pos;
      }
    } else {
      cp = decode_utf8(raw, pos);
    }
    if (is_ascii_space(cp)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) {
      out += ' ';
      pending_space = false;
      if (++code_points == kMaxTitleCodePoints) break;
    }
    append_utf8(out, cp);
    ++code_points;
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.empty()) return std::nullopt;
  return out;
}

bool is_html_content_type(std::string_view content_type) {
  auto media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && is_ascii_space(static_cast<unsigned char>(media.front())))
    media.remove_prefix(1);
  while (!media.empty() && is_ascii_space(static_cast<unsigned char>(media.back())))
    media.remove_suffix(1);
  const auto is = [&](std::string_view type) {
    return media.size() == type.size() && iequals_at(media, 0, type);
  };
  return is("text/html") || is("application/xhtml+xml");
}

}  // namespace loopchat
