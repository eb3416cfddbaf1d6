#include "runtime/runtime.h"

namespace lattice::runtime {
namespace {

class UnsupportedLogReader final : public LogReader {
 public:
  boost::asio::awaitable<Result<std::vector<std::string>>> Next() override {
    co_return Error::Unavailable("this container runtime cannot stream logs");
  }
  void Close() override {}
};

}  // namespace

std::unique_ptr<LogReader> Runtime::StreamLogs(boost::asio::any_io_executor, const std::string&,
                                               const LogStreamOptions&) {
  return std::make_unique<UnsupportedLogReader>();
}

Result<ContainerStats> Runtime::Stats(const std::string&, std::chrono::milliseconds) {
  return Error::Unavailable("this container runtime keeps no resource counters");
}

}  // namespace lattice::runtime
