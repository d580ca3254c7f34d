// websocketpp's types for loopchat: its RFC 6455 frame processor (hybi13)
// and its HTTP parser, configured for one thread, no extensions, no logging.
// Only the transport layer includes websocketpp: the chat code never sees
// its types.
#pragma once

#include <websocketpp/config/core.hpp>
#include <websocketpp/processors/hybi13.hpp>

namespace loopchat {

struct WsConfig : websocketpp::config::core {
  using type = WsConfig;
  // Logging is compiled out of the hot path.
  static const websocketpp::log::level elog_level = websocketpp::log::elevel::none;
  static const websocketpp::log::level alog_level = websocketpp::log::alevel::none;
  // The real limit is set at run time from Config::max_message_bytes.
  static const size_t max_message_size = 64 * 1024;
  static const bool enable_extensions = false;
};

using WsProcessor = websocketpp::processor::hybi13<WsConfig>;
using WsMessagePtr = WsConfig::message_type::ptr;
using HttpRequest = WsConfig::request_type;

}  // namespace loopchat
