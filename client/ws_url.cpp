#include "client/ws_url.hpp"

#include <algorithm>
#include <cctype>

namespace loopchat::client {

namespace {

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

bool valid_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

}  // namespace

std::string WsUrl::text() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  std::string out = secure ? "wss://" : "ws://";
  if (ipv6) out.push_back('[');
  out.append(host);
  if (ipv6) out.push_back(']');
  out.push_back(':');
  out.append(std::to_string(port));
  out.append(path);
  return out;
}

std::optional<WsUrl> WsUrl::parse(std::string_view url) {
  auto result = parse_or_error(url);
  if (auto* u = std::get_if<WsUrl>(&result)) return std::move(*u);
  return std::nullopt;
}

std::variant<WsUrl, std::string> WsUrl::parse_or_error(std::string_view url) {
  std::string quoted(1, '\'');  // in steps: GCC 12 warns falsely (-Wrestrict) on "'" + s
  quoted.append(url);
  quoted.push_back('\'');
  const bool secure = starts_with_nocase(url, "wss://");
  if (!secure && !starts_with_nocase(url, "ws://")) {
    return "bad URL " + quoted + ": expected ws://host[:port][/path] or wss://";
  }
  std::string_view rest = url.substr(secure ? 6 : 5);
  const size_t path_start = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_start);
  std::string_view path = path_start == std::string_view::npos ? "" : rest.substr(path_start);
  if (!path.empty() && path.front() != '/' && path.front() != '?' && path.front() != '#') {
    return "bad URL " + quoted + ": the path must start with '/'";
  }
  if (path.find('#') != std::string_view::npos) {
    return "bad URL " + quoted + ": fragments are not allowed in WebSocket URLs";
  }
  if (path.find_first_of(" \t\r\n") != std::string_view::npos) {
    return "bad URL " + quoted + ": the path contains white space";
  }
  if (authority.find('@') != std::string_view::npos) {
    return "bad URL " + quoted + ": user information is not supported";
  }

  WsUrl out;
  out.secure = secure;
  if (secure) out.port = 443;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return "bad URL " + quoted + ": unclosed '['";
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "bad URL " + quoted + ": junk after ']'";
      port_text = after.substr(1);
      if (port_text.empty()) return "bad URL " + quoted + ": empty port";
    }
    const bool ok_v6 =
        !out.host.empty() && std::all_of(out.host.begin(), out.host.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
        });
    if (!ok_v6) return "bad URL " + quoted + ": bad IPv6 address";
  } else {
    const size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return "bad URL " + quoted + ": empty port";
    }
    if (out.host.empty()) return "bad URL " + quoted + ": no host";
    if (!std::all_of(out.host.begin(), out.host.end(), valid_host_char)) {
      return "bad URL " + quoted + ": bad host name";
    }
  }
  if (!port_text.empty()) {
    if (port_text.size() > 5 || !std::all_of(port_text.begin(), port_text.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        })) {
      return "bad URL " + quoted + ": bad port '" + std::string(port_text) + "'";
    }
    const unsigned long port = std::stoul(std::string(port_text));
    if (port == 0 || port > 65535) {
      return "bad URL " + quoted + ": port out of range 1..65535";
    }
    out.port = static_cast<uint16_t>(port);
  }
  out.path = path.empty() ? "/" : std::string(path);
  if (out.path.front() == '?') out.path.insert(out.path.begin(), '/');
  return out;
}

}  // namespace loopchat::client
