#include "server/redis/redis_connection.hpp"

namespace loopchat {

struct RedisConnection::Pending {
  Callback callback;
  bool repeating;
  std::weak_ptr<bool> owner_alive;  // the connection may be gone when hiredis frees us
};

RedisConnection::RedisConnection(asio::io_context& io, RedisEndpoint endpoint,
                                 std::chrono::milliseconds timeout,
                                 std::function<void(const std::string&)> on_lost)
    : io_(io),
      endpoint_(std::move(endpoint)),
      timeout_(timeout),
      on_lost_(std::move(on_lost)),
      deadline_timer_(io) {}

RedisConnection::~RedisConnection() {
  *alive_ = false;  // callbacks run by the free below must not reach our owner
  deadline_timer_.cancel();
  if (context_ != nullptr) {
    context_->data = nullptr;
    redisAsyncFree(context_);
  }
}

void RedisConnection::connect(std::function<void(const std::string&)> done) {
  if (state_ != State::idle) return done("already connecting");
  context_ = redisAsyncConnect(endpoint_.host.c_str(), endpoint_.port);
  if (context_ == nullptr) return done("out of memory");
  if (context_->err) {
    std::string why = context_->errstr;
    redisAsyncFree(context_);
    context_ = nullptr;
    return done(why);
  }
  state_ = State::connecting;
  connect_done_ = std::move(done);
  context_->data = this;
  attach();
  redisAsyncSetConnectCallback(context_, on_connect);
  redisAsyncSetDisconnectCallback(context_, on_disconnect);
  // The connect itself has the command deadline too.
  deadlines_.push_back(std::chrono::steady_clock::now() + timeout_);
  arm_deadline();
  if (endpoint_.db != 0)
    command({"SELECT", std::to_string(endpoint_.db)}, [](const redisReply*, std::string_view) {});
}

// hiredis's event hooks: it says what it wants, the watcher waits for it.
void RedisConnection::attach() {
  context_->ev.data = this;
  context_->ev.addRead = want<true, true>;
  context_->ev.delRead = want<true, false>;
  context_->ev.addWrite = want<false, true>;
  context_->ev.delWrite = want<false, false>;
  // Before hiredis closes the socket: the watcher lets go of it first.
  context_->ev.cleanup = [](void* self) {
    auto* connection = static_cast<RedisConnection*>(self);
    connection->watcher_.reset();
    connection->want_read_ = connection->want_write_ = false;
  };
}

template <bool read, bool wanted>
void RedisConnection::want(void* self) {
  auto* connection = static_cast<RedisConnection*>(self);
  (read ? connection->want_read_ : connection->want_write_) = wanted;
  connection->watch();
}

void RedisConnection::watch() {
  if (context_ == nullptr) return;
  if (!watcher_)
    watcher_ = std::make_unique<FdWatcher>(io_, context_->c.fd,
                                           [this](FdWatcher::Ready ready, std::error_code) {
                                             // An error shows in hiredis's own read or write.
                                             if (context_ == nullptr) return;
                                             if (ready == FdWatcher::Ready::read)
                                               redisAsyncHandleRead(context_);
                                             else
                                               redisAsyncHandleWrite(context_);
                                           });
  watcher_->watch(want_read_, want_write_);
}

void RedisConnection::on_connect(const redisAsyncContext* context, int status) {
  auto* self = static_cast<RedisConnection*>(context->data);
  if (self == nullptr) return;
  if (!self->deadlines_.empty()) self->deadlines_.pop_front();  // the connect's
  auto done = std::move(self->connect_done_);
  if (status != REDIS_OK) {
    // hiredis frees the context after this call.
    std::string why = context->errstr ? context->errstr : "connect failed";
    self->context_ = nullptr;
    self->state_ = State::idle;
    self->deadlines_.clear();
    if (done) done(why);
    return;
  }
  self->state_ = State::connected;
  if (done) done("");
}

void RedisConnection::on_disconnect(const redisAsyncContext* context, int status) {
  auto* self = static_cast<RedisConnection*>(context->data);
  if (self == nullptr) return;
  std::string why =
      status == REDIS_OK ? "disconnected" : (context->errstr ? context->errstr : "connection lost");
  self->context_ = nullptr;  // hiredis frees it after this call
  bool was_connected = self->state_ == State::connected;
  self->state_ = State::idle;
  self->deadlines_.clear();
  self->deadline_timer_.cancel();
  if (!was_connected) {
    auto done = std::move(self->connect_done_);
    if (done) done(why);
    return;
  }
  self->lost(why);
}

void RedisConnection::lost(const std::string& why) {
  if (on_lost_)
    asio::post(io_, [alive = std::weak_ptr<bool>(alive_), this, why] {
      if (alive.lock() && *alive.lock()) on_lost_(why);
    });
}

// hiredis's argv form: binary-safe, no format string to parse.
int RedisConnection::send(const std::vector<std::string>& args, redisCallbackFn* fn, void* data) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const std::string& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  return redisAsyncCommandArgv(context_, fn, data, static_cast<int>(argv.size()), argv.data(),
                               lengths.data());
}

void RedisConnection::command(const std::vector<std::string>& args, Callback callback,
                              bool repeating) {
  if (context_ == nullptr) {
    asio::post(io_, [callback = std::move(callback)] { callback(nullptr, "not connected"); });
    return;
  }
  auto* pending = new Pending{std::move(callback), repeating, alive_};
  if (send(args, on_reply, pending) != REDIS_OK) {
    auto failed = std::move(pending->callback);
    delete pending;
    asio::post(io_, [failed = std::move(failed)] { failed(nullptr, "not connected"); });
    return;
  }
  if (!repeating) {
    deadlines_.push_back(std::chrono::steady_clock::now() + timeout_);
    if (deadlines_.size() == 1) arm_deadline();
  }
}

void RedisConnection::send_unanswered(const std::vector<std::string>& args) {
  if (context_ != nullptr) send(args, nullptr, nullptr);
}

void RedisConnection::on_reply(redisAsyncContext* context, void* reply_data, void* data) {
  auto* pending = static_cast<Pending*>(data);
  auto* reply = static_cast<redisReply*>(reply_data);
  auto* self = static_cast<RedisConnection*>(context->data);
  bool alive = !pending->owner_alive.expired() && *pending->owner_alive.lock();
  if (alive && self != nullptr && !pending->repeating && reply != nullptr &&
      !self->deadlines_.empty())
    self->deadlines_.pop_front();
  // A repeating callback (SUBSCRIBE) ends with its UNSUBSCRIBE or the connection.
  bool last = !pending->repeating || reply == nullptr ||
              (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
               reply->element[0]->type == REDIS_REPLY_STRING &&
               std::string_view(reply->element[0]->str, reply->element[0]->len) == "unsubscribe");
  if (alive) {
    if (reply == nullptr)
      pending->callback(nullptr, "connection lost");
    else if (reply->type == REDIS_REPLY_ERROR)
      pending->callback(reply, std::string_view(reply->str, reply->len));
    else
      pending->callback(reply, "");
  }
  if (last) delete pending;
}

void RedisConnection::arm_deadline() {
  if (deadlines_.empty()) return;
  deadline_timer_.expires_at(deadlines_.front());
  deadline_timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](std::error_code ec) {
    if (ec || alive.expired()) return;
    if (deadlines_.empty()) return;
    if (deadlines_.front() > std::chrono::steady_clock::now()) return arm_deadline();
    drop("no reply within " + std::to_string(timeout_.count()) + " ms");
  });
}

void RedisConnection::drop(const std::string& why) {
  if (context_ == nullptr) return;
  bool was_connected = state_ == State::connected;
  redisAsyncContext* context = context_;
  context_ = nullptr;
  context->data = nullptr;  // its callbacks below must not touch our state
  state_ = State::idle;
  deadlines_.clear();
  deadline_timer_.cancel();
  auto done = std::move(connect_done_);
  redisAsyncFree(context);  // every waiting command gets "connection lost"
  if (!was_connected) {
    if (done) done(why);
  } else {
    lost(why);
  }
}

}  // namespace loopchat
