// The command line: every field of Config as an option with its default.
#pragma once

#include <optional>

#include "server/config.hpp"

namespace loopchat {

struct ParsedOptions {
  std::optional<Config> config;  // empty: exit with exit_code (after --help: 0, else 2)
  int exit_code = 0;
};

ParsedOptions parse_options(int argc, char** argv);

}  // namespace loopchat
