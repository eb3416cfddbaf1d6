// How API records read in a terminal: the tables of `ps`, `nodes`, `invite ls` and `audit`,
// the page of `inspect`,
// and the connection details printed after a deploy. Pure functions of the API's JSON (see
// docs/openapi.yaml) and the current time; missing fields render as "-".
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <string>

namespace lattice::cli {

// NAME TEMPLATE STATUS NODE ENDPOINTS AGE
std::string WorkloadsTable(const boost::json::array& workloads, std::int64_t now);

// NAME STATUS ADDRESS CPUS MEMORY VERSION LAST SEEN
std::string NodesTable(const boost::json::array& nodes, std::int64_t now);

// ID NOTE STATUS USED BY CREATED EXPIRES (invites; codes are never listed)
std::string InvitesTable(const boost::json::array& invites, std::int64_t now);

// TIME ACTOR ACTION TARGET FROM OUTCOME DETAIL (audit events; an anonymous actor is shown as
// "anonymous")
std::string AuditTable(const boost::json::array& events);

// Endpoints and credentials, indented under headings; empty sections are left out.
std::string ConnectionDetails(const boost::json::object& workload);

// Everything about one workload (with each endpoint's outside-in reachability when the record
// carries probes), then its most recent `events` ({at, status, message}).
std::string WorkloadPage(const boost::json::object& workload, const boost::json::array& events,
                         std::int64_t now);

// A field as display text: strings as-is, numbers formatted, null/absent as "-".
std::string Text(const boost::json::object& o, std::string_view key);

}  // namespace lattice::cli
