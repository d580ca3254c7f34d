// The data folder belongs to one running server: DIR/loopchat.lock is held
// with flock() for the life of the process (the kernel releases it when the
// process dies, kill -9 included), and holds that server's pid for the error
// message of the next one.
#pragma once

#include <string>

namespace loopchat {

class DataDirLock {
 public:
  // Creates DIR if needed and takes the lock. Throws std::runtime_error with
  // a one-line reason naming the path.
  explicit DataDirLock(const std::string& dir);
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace loopchat
