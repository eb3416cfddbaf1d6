#include "edge/admission.h"

namespace lattice::edge {

namespace ip = boost::asio::ip;

namespace {

// Decrements `m[key]` and forgets the key at zero, so idle sources cost nothing.
template <typename Map, typename Key>
void Decrement(Map& m, const Key& key) {
  auto it = m.find(key);
  if (it == m.end()) return;
  if (--it->second <= 0) m.erase(it);
}

template <typename Map, typename Key>
int CountOf(const Map& m, const Key& key) {
  auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}

}  // namespace

const char* RefusalName(Refusal r) {
  switch (r) {
    case Refusal::kWorkloadFull:
      return "workload";
    case Refusal::kSourceWorkloadFull:
      return "source-per-workload";
    case Refusal::kSourceFull:
      return "source";
  }
  return "unknown";
}

Admission::Ticket::Ticket(Admission* owner, std::string workload_id, ip::address source)
    : owner_(owner), workload_id_(std::move(workload_id)), source_(source) {}

Admission::Ticket::Ticket(Ticket&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)),
      workload_id_(std::move(other.workload_id_)),
      source_(other.source_) {}

Admission::Ticket& Admission::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    Release();
    owner_ = std::exchange(other.owner_, nullptr);
    workload_id_ = std::move(other.workload_id_);
    source_ = other.source_;
  }
  return *this;
}

Admission::Ticket::~Ticket() {
  Release();
}

void Admission::Ticket::Release() {
  if (Admission* owner = std::exchange(owner_, nullptr)) owner->Release(workload_id_, source_);
}

ip::address Admission::Normalize(const ip::address& source) {
  if (source.is_v6() && source.to_v6().is_v4_mapped())
    return ip::make_address_v4(ip::v4_mapped, source.to_v6());
  return source;
}

std::variant<Admission::Ticket, Refusal> Admission::Admit(const std::string& workload_id,
                                                          const ip::address& source) {
  const ip::address src = Normalize(source);
  std::lock_guard lock(mu_);
  const auto pair = std::make_pair(src, workload_id);
  if (CountOf(per_source_, src) >= limits_.per_source) return Refusal::kSourceFull;
  if (CountOf(per_pair_, pair) >= limits_.per_source_per_workload)
    return Refusal::kSourceWorkloadFull;
  if (CountOf(per_workload_, workload_id) >= limits_.per_workload) return Refusal::kWorkloadFull;
  ++per_pair_[pair];
  ++per_source_[src];
  ++per_workload_[workload_id];
  ++streams_;
  return Ticket(this, workload_id, src);
}

void Admission::Release(const std::string& workload_id, const ip::address& source) {
  std::lock_guard lock(mu_);
  Decrement(per_pair_, std::make_pair(source, workload_id));
  Decrement(per_source_, source);
  Decrement(per_workload_, workload_id);
  --streams_;
}

Admission::Counts Admission::InFlight() const {
  std::lock_guard lock(mu_);
  return {streams_, static_cast<std::int64_t>(per_source_.size()),
          static_cast<std::int64_t>(per_workload_.size())};
}

}  // namespace lattice::edge
