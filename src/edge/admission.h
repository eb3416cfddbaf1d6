// Admission: whether the edge may start another stream, so that no one client address can
// exhaust a public port. It counts the streams in flight (from accept to the relay's end) per
// workload, per source address and workload, and per source address across every public
// port, and refuses a stream that would go over any of the three caps. An IPv4-mapped IPv6
// source (::ffff:a.b.c.d, as a dual-stack listener reports IPv4 clients) counts as its IPv4
// address; other IPv6 addresses count one by one.
//
// Admit() hands out a Ticket per admitted stream; the ticket gives its slots back exactly once:
// at Release(), or at its destruction if Release() was not called. Tickets must not outlive
// their Admission. Thread-safe; Admit and Release take a short internal lock and never block
// on I/O.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <variant>

namespace lattice::edge {

struct AdmissionLimits {
  int per_workload = 512;            // streams of one workload, from every source
  int per_source_per_workload = 64;  // streams of one workload from one source address
  int per_source = 256;              // streams from one source address, every workload
};

// Why a stream was not admitted.
enum class Refusal {
  kWorkloadFull,        // the workload holds per_workload streams
  kSourceWorkloadFull,  // this source holds per_source_per_workload streams of the workload
  kSourceFull,          // this source holds per_source streams in all
};
const char* RefusalName(Refusal r);

class Admission {
 public:
  // One admitted stream's slots. Move-only; empty once released or moved from.
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept;
    Ticket& operator=(Ticket&& other) noexcept;
    ~Ticket();
    // Gives the slots back; later calls (and the destructor) do nothing.
    void Release();
    bool held() const { return owner_ != nullptr; }

   private:
    friend class Admission;
    Ticket(Admission* owner, std::string workload_id, boost::asio::ip::address source);
    Admission* owner_ = nullptr;
    std::string workload_id_;
    boost::asio::ip::address source_;
  };

  struct Counts {
    std::int64_t streams = 0;    // tickets held
    std::int64_t sources = 0;    // distinct source addresses holding them
    std::int64_t workloads = 0;  // distinct workloads holding them
  };

  explicit Admission(AdmissionLimits limits) : limits_(limits) {}
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;

  // A ticket for one more stream of `workload_id` from `source`, or why not. A source over its
  // own caps is reported as such even when the workload is full too.
  std::variant<Ticket, Refusal> Admit(const std::string& workload_id,
                                      const boost::asio::ip::address& source);
  Counts InFlight() const;
  const AdmissionLimits& limits() const { return limits_; }

  // The address a source is counted as: IPv4-mapped IPv6 becomes IPv4, the rest is unchanged.
  static boost::asio::ip::address Normalize(const boost::asio::ip::address& source);

 private:
  void Release(const std::string& workload_id, const boost::asio::ip::address& source);

  const AdmissionLimits limits_;
  mutable std::mutex mu_;
  std::map<std::string, int> per_workload_;                                   // guarded
  std::map<boost::asio::ip::address, int> per_source_;                        // guarded
  std::map<std::pair<boost::asio::ip::address, std::string>, int> per_pair_;  // guarded
  std::int64_t streams_ = 0;                                                  // guarded
};

}  // namespace lattice::edge
