// The client against a tiny in-test server on an ephemeral loopback port:
// handshake, echo, ping/pong, close handshake, rejection, fragments.
#include <gtest/gtest.h>

#include <functional>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <websocketpp/base64/base64.hpp>
#include <websocketpp/sha1/sha1.hpp>

#include "client/ws_client.hpp"
#include "client/ws_frame.hpp"

namespace loopchat::client {
namespace {

using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

std::string accept_for(const std::string& key) {
  const std::string input = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char hash[20];
  websocketpp::sha1::calc(input.data(), input.size(), hash);
  return websocketpp::base64_encode(hash, sizeof hash);
}

// The server half of one connection, for a test script to drive.
struct ServerSide {
  tcp::socket socket;
  std::string buffer;  // read but not consumed
  std::string request;

  // Reads the upgrade request and returns the client's key.
  awaitable<std::string> read_request() {
    const size_t n = co_await asio::async_read_until(socket, asio::dynamic_buffer(buffer),
                                                     "\r\n\r\n", use_awaitable);
    request = buffer.substr(0, n);
    buffer.erase(0, n);
    const std::string name = "Sec-WebSocket-Key: ";
    const size_t at = request.find(name);
    if (at == std::string::npos) co_return "";
    co_return request.substr(at + name.size(), request.find("\r\n", at) - at - name.size());
  }

  awaitable<void> write(std::string bytes) {
    co_await asio::async_write(socket, asio::buffer(bytes), use_awaitable);
  }

  static std::string accept_answer(const std::string& key) {
    return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Accept: " +
           accept_for(key) + "\r\n\r\n";
  }

  static std::string frame(Opcode op, std::string_view payload, bool fin = true) {
    std::string out;
    append_frame(out, op, payload, false, 0, fin);
    return out;
  }

  // Reads one client frame; checks that it is masked and unmasks it.
  awaitable<std::pair<FrameHeader, std::string>> read_frame() {
    for (;;) {
      FrameHeader h;
      if (parse_frame_header(buffer, h) == FrameParse::ok &&
          buffer.size() >= h.header_length + h.payload_length) {
        EXPECT_TRUE(h.masked);
        std::string payload = buffer.substr(h.header_length, h.payload_length);
        apply_mask(payload.data(), payload.size(), h.mask_key);
        buffer.erase(0, h.header_length + h.payload_length);
        co_return std::pair{h, payload};
      }
      char chunk[4096];
      const size_t n = co_await socket.async_read_some(asio::buffer(chunk), use_awaitable);
      buffer.append(chunk, n);
    }
  }
};

// Runs `server` on the first accepted connection and `client` against it.
void run_pair(std::function<awaitable<void>(ServerSide&)> server,
              std::function<awaitable<void>(WsUrl)> client) {
  asio::io_context io(1);
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  const WsUrl url{"127.0.0.1", acceptor.local_endpoint().port(), "/ws"};
  bool server_done = false, client_done = false;
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        // Not `ServerSide side{co_await ...}`: GCC 12 miscompiles co_await in braced init.
        tcp::socket accepted = co_await acceptor.async_accept(use_awaitable);
        ServerSide side{std::move(accepted), {}, {}};
        co_await server(side);
        server_done = true;
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        co_await client(url);
        client_done = true;
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run_for(std::chrono::seconds(10));
  EXPECT_TRUE(server_done);
  EXPECT_TRUE(client_done);
}

TEST(WsClientLoopback, EchoPingAndCloseHandshake) {
  std::string pong_payload, close_reply;
  run_pair(
      [&](ServerSide& s) -> awaitable<void> {
        const std::string key = co_await s.read_request();
        EXPECT_EQ(key.size(), 24u);  // base64 of 16 bytes
        EXPECT_NE(s.request.find("GET /ws HTTP/1.1\r\n"), std::string::npos);
        EXPECT_NE(s.request.find("Sec-WebSocket-Version: 13\r\n"), std::string::npos);
        // The welcome goes in the same write as the 101: the client must keep it.
        co_await s.write(ServerSide::accept_answer(key) +
                         ServerSide::frame(Opcode::text, R"({"type":"welcome"})"));
        auto [h, text] = co_await s.read_frame();
        EXPECT_EQ(h.opcode, Opcode::text);
        co_await s.write(ServerSide::frame(Opcode::text, text));
        co_await s.write(ServerSide::frame(Opcode::ping, "hi") +
                         ServerSide::frame(Opcode::close, close_payload(1000, "bye")));
        auto [ph, pong] = co_await s.read_frame();
        EXPECT_EQ(ph.opcode, Opcode::pong);
        pong_payload = pong;
        auto [ch, reply] = co_await s.read_frame();
        EXPECT_EQ(ch.opcode, Opcode::close);
        close_reply = reply;
      },
      [&](WsUrl url) -> awaitable<void> {
        WsClient client(co_await asio::this_coro::executor);
        EXPECT_FALSE(co_await client.connect(url));
        EXPECT_EQ(client.http_status(), 101);
        WsMessage welcome = co_await client.receive();
        EXPECT_EQ(welcome.kind, WsMessage::Kind::text);
        EXPECT_EQ(welcome.data, R"({"type":"welcome"})");
        client.send_text("hello");
        WsMessage echo = co_await client.receive();
        EXPECT_EQ(echo.kind, WsMessage::Kind::text);
        EXPECT_EQ(echo.data, "hello");
        WsMessage close = co_await client.receive();
        EXPECT_EQ(close.kind, WsMessage::Kind::close);
        EXPECT_EQ(close.close_code, 1000);
        EXPECT_EQ(close.close_reason, "bye");
        EXPECT_EQ(client.pings_received(), 1u);
        EXPECT_FALSE(co_await client.flush());
      });
  EXPECT_EQ(pong_payload, "hi");
  EXPECT_EQ(close_reply, close_payload(1000, ""));
}

TEST(WsClientLoopback, ReportsRejectionStatus) {
  run_pair(
      [&](ServerSide& s) -> awaitable<void> {
        co_await s.read_request();
        co_await s.write("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy");
      },
      [&](WsUrl url) -> awaitable<void> {
        WsClient client(co_await asio::this_coro::executor);
        const std::error_code ec = co_await client.connect(url);
        EXPECT_EQ(ec, make_error_code(WsErrc::handshake_rejected));
        EXPECT_EQ(client.http_status(), 503);
        EXPECT_FALSE(client.is_open());
      });
}

TEST(WsClientLoopback, RejectsAWrongAccept) {
  run_pair(
      [&](ServerSide& s) -> awaitable<void> {
        co_await s.read_request();
        co_await s.write(ServerSide::accept_answer("not-the-key"));
      },
      [&](WsUrl url) -> awaitable<void> {
        WsClient client(co_await asio::this_coro::executor);
        EXPECT_EQ(co_await client.connect(url), make_error_code(WsErrc::bad_handshake));
      });
}

TEST(WsClientLoopback, ReassemblesFragmentsAndBatchesSends) {
  std::vector<std::string> received;
  run_pair(
      [&](ServerSide& s) -> awaitable<void> {
        co_await s.write(ServerSide::accept_answer(co_await s.read_request()));
        co_await s.write(ServerSide::frame(Opcode::text, "Hel", false) +
                         ServerSide::frame(Opcode::ping, "") +
                         ServerSide::frame(Opcode::continuation, "lo", true) +
                         ServerSide::frame(Opcode::text, std::string(70000, 'z')));
        for (int i = 0; i < 3; ++i) received.push_back((co_await s.read_frame()).second);
      },
      [&](WsUrl url) -> awaitable<void> {
        WsClientConfig config;
        config.read_chunk_bytes = 1024;  // forces the buffer to grow for the big frame
        config.auto_pong = false;
        WsClient client(co_await asio::this_coro::executor, config);
        EXPECT_FALSE(co_await client.connect(url));
        WsMessage m = co_await client.receive();
        EXPECT_EQ(m.data, "Hello");
        co_await client.receive_into(m);
        EXPECT_EQ(m.data.size(), 70000u);
        EXPECT_EQ(client.pings_received(), 1u);
        EXPECT_TRUE(client.send_text("a"));
        EXPECT_TRUE(client.send_text("b"));
        EXPECT_TRUE(client.send_text("c"));
        EXPECT_EQ(client.queued_bytes(), 3u * 7u);  // 2 header + 4 mask + 1 byte each
        EXPECT_FALSE(co_await client.flush());
        EXPECT_EQ(client.queued_bytes(), 0u);
      });
  EXPECT_EQ(received, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(WsClientLoopback, ReportsEofAs1006) {
  run_pair(
      [&](ServerSide& s) -> awaitable<void> {
        co_await s.write(ServerSide::accept_answer(co_await s.read_request()));
        s.socket.close();
      },
      [&](WsUrl url) -> awaitable<void> {
        WsClient client(co_await asio::this_coro::executor);
        EXPECT_FALSE(co_await client.connect(url));
        WsMessage m = co_await client.receive();
        EXPECT_EQ(m.kind, WsMessage::Kind::error);
        EXPECT_EQ(m.close_code, 1006);
        EXPECT_TRUE(m.error);
      });
}

// receive_each: every message in order, across reads and a growing buffer,
// then the close, last; nothing after it.
TEST(WsClientLoopback, ReceiveEachPassesEveryMessageThenTheClose) {
  std::vector<std::string> got;
  std::string pong_payload, close_reply;
  run_pair(
      [&](ServerSide& s) -> awaitable<void> {
        co_await s.write(ServerSide::accept_answer(co_await s.read_request()) +
                         ServerSide::frame(Opcode::text, "one"));
        co_await s.write(ServerSide::frame(Opcode::text, "Hel", false) +
                         ServerSide::frame(Opcode::ping, "p") +
                         ServerSide::frame(Opcode::continuation, "lo", true));
        co_await s.write(ServerSide::frame(Opcode::text, std::string(70000, 'z')) +
                         ServerSide::frame(Opcode::close, close_payload(1000, "bye")) +
                         ServerSide::frame(Opcode::text, "after the close"));
        pong_payload = (co_await s.read_frame()).second;
        close_reply = (co_await s.read_frame()).second;
      },
      [&](WsUrl url) -> awaitable<void> {
        WsClientConfig config;
        config.read_chunk_bytes = 1024;  // forces the buffer to grow for the big frame
        auto executor = co_await asio::this_coro::executor;
        WsClient client(executor, config);
        EXPECT_FALSE(co_await client.connect(url));
        asio::steady_timer ended(executor, asio::steady_timer::time_point::max());
        client.receive_each([&](WsMessage& m) {
          if (m.kind == WsMessage::Kind::text)
            got.push_back(m.data.size() > 100 ? "z*" + std::to_string(m.data.size()) : m.data);
          if (m.kind == WsMessage::Kind::close) {
            got.push_back("close " + std::to_string(m.close_code) + " " + m.close_reason);
            ended.cancel();
          }
          if (m.kind == WsMessage::Kind::error) {
            got.push_back("error");
            ended.cancel();
          }
        });
        co_await ended.async_wait(asio::experimental::as_tuple(use_awaitable));
        EXPECT_FALSE(co_await client.flush());
      });
  EXPECT_EQ(got, (std::vector<std::string>{"one", "Hello", "z*70000", "close 1000 bye"}));
  EXPECT_EQ(pong_payload, "p");
  EXPECT_EQ(close_reply, close_payload(1000, ""));
}

// receive_each ends with the error when the peer goes away without a close.
TEST(WsClientLoopback, ReceiveEachEndsWithTheErrorOnEof) {
  std::vector<std::string> got;
  run_pair(
      [&](ServerSide& s) -> awaitable<void> {
        co_await s.write(ServerSide::accept_answer(co_await s.read_request()) +
                         ServerSide::frame(Opcode::text, "last"));
        s.socket.close();
      },
      [&](WsUrl url) -> awaitable<void> {
        auto executor = co_await asio::this_coro::executor;
        WsClient client(executor);
        EXPECT_FALSE(co_await client.connect(url));
        asio::steady_timer ended(executor, asio::steady_timer::time_point::max());
        client.receive_each([&](WsMessage& m) {
          if (m.kind == WsMessage::Kind::text) got.push_back(m.data);
          if (m.kind == WsMessage::Kind::error) {
            got.push_back("error " + std::to_string(m.close_code) + (m.error ? " set" : ""));
            ended.cancel();
          }
        });
        co_await ended.async_wait(asio::experimental::as_tuple(use_awaitable));
      });
  EXPECT_EQ(got, (std::vector<std::string>{"last", "error 1006 set"}));
}

TEST(WsClientLoopback, ConnectionRefused) {
  asio::io_context io(1);
  tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
  const WsUrl url{"127.0.0.1", probe.local_endpoint().port(), "/ws"};
  probe.close();  // nothing listens there now
  std::error_code result;
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        WsClient client(co_await asio::this_coro::executor);
        result = co_await client.connect(url);
      },
      asio::detached);
  io.run_for(std::chrono::seconds(5));
  EXPECT_EQ(result, asio::error::connection_refused);
}

}  // namespace
}  // namespace loopchat::client
