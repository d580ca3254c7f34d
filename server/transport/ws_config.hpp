// websocketpp, configured for one thread and our own sockets: the iostream
// transport (we read and write the bytes from coroutines; websocketpp parses
// the handshake and frames), no locks, no logging. Only session.cpp and
// frame.cpp include websocketpp: the chat code never sees its types.
#pragma once

#include <websocketpp/concurrency/none.hpp>
#include <websocketpp/config/core.hpp>
#include <websocketpp/server.hpp>

namespace loopchat {

struct WsConfig : websocketpp::config::core {
  using type = WsConfig;
  using base = websocketpp::config::core;

  // One thread: no mutexes anywhere in websocketpp.
  using concurrency_type = websocketpp::concurrency::none;
  using elog_type = websocketpp::log::basic<concurrency_type, websocketpp::log::elevel>;
  using alog_type = websocketpp::log::basic<concurrency_type, websocketpp::log::alevel>;
  static const bool enable_multithreading = false;

  struct transport_config : base::transport_config {
    using concurrency_type = WsConfig::concurrency_type;
    using elog_type = WsConfig::elog_type;
    using alog_type = WsConfig::alog_type;
    static const bool enable_multithreading = false;
  };
  using transport_type = websocketpp::transport::iostream::endpoint<transport_config>;

  // The iostream transport has no timers: our coroutines own every timeout.
  static const long timeout_open_handshake = 0;
  static const long timeout_close_handshake = 0;
  static const long timeout_pong = 0;

  // Logging is compiled out of the hot path.
  static const websocketpp::log::level elog_level = websocketpp::log::elevel::none;
  static const websocketpp::log::level alog_level = websocketpp::log::alevel::none;

  // websocketpp copies our reads into this per-connection buffer; it is part
  // of every idle connection's memory, so it is small. Larger reads are fed
  // to it in pieces.
  static const size_t connection_read_buffer_size = 256;
  // The real limit is set at run time from Config::max_message_bytes.
  static const size_t max_message_size = 64 * 1024;
  static const size_t max_http_body_size = 0;  // requests carry no body
  static const bool enable_extensions = false;
};

using WsEndpoint = websocketpp::server<WsConfig>;

// The endpoint only makes connections and holds default settings; with the
// iostream transport it has no I/O of its own. Log channels off.
inline WsEndpoint& ws_endpoint() {
  static WsEndpoint instance = [] {
    WsEndpoint e;
    e.clear_access_channels(websocketpp::log::alevel::all);
    e.clear_error_channels(websocketpp::log::elevel::all);
    return e;
  }();
  return instance;
}

}  // namespace loopchat
