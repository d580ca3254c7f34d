// The browser page's files, embedded into the binary at build time
// (cmake/EmbedFiles.cmake generates the table from server/web/).
#pragma once

#include <string_view>

namespace loopchat {

struct WebAsset {
  std::string_view path;  // URL path; index.html is served at "/"
  std::string_view content_type;
  std::string_view body;
};

const WebAsset* find_web_asset(std::string_view path);

}  // namespace loopchat
