// A Participant for unit tests: it records every frame queued to it, in order,
// and, when given a log, the order in which participants were delivered to.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/codec.hpp"
#include "server/chat/participant.hpp"
#include "server/transport/frame.hpp"

namespace loopchat::fakes {

class FakeParticipant : public Participant {
 public:
  explicit FakeParticipant(std::string label = {}, std::vector<std::string>* log = nullptr)
      : label_(std::move(label)), log_(log) {}

  void deliver(const FramePtr& frame) override {
    frames.push_back(frame);
    if (log_ != nullptr) log_->push_back(label_);
  }
  std::size_t send_room() const override { return room_bytes; }
  std::size_t room_bytes = 1024 * 1024;  // what send_room() answers
  void end(std::uint16_t code, std::string_view) override { ended_with = code; }
  std::uint16_t ended_with = 0;  // the close code end() was called with, if it was

  const std::string& label() const { return label_; }

  // The payloads (JSON text) of the recorded frames.
  std::vector<std::string> payloads() const {
    std::vector<std::string> out;
    for (const FramePtr& f : frames) out.emplace_back(f->payload());
    return out;
  }
  // The recorded frames decoded as server events.
  std::vector<protocol::Event> events() const {
    std::vector<protocol::Event> out;
    for (const FramePtr& f : frames) out.push_back(protocol::decode_event(f->payload()));
    return out;
  }
  // Recorded events of type T, in order.
  template <typename T>
  std::vector<T> events_of() const {
    std::vector<T> out;
    for (const protocol::Event& e : events())
      if (const T* t = std::get_if<T>(&e)) out.push_back(*t);
    return out;
  }
  void clear() { frames.clear(); }

  std::vector<FramePtr> frames;

 private:
  std::string label_;
  std::vector<std::string>* log_;
};

}  // namespace loopchat::fakes
