// The index stage of verification: the structural invariants of the HNSW
// graph and of the IVF lists, over an index already loaded (its loader has
// validated every byte it read), and the payload index against the rows'
// metadata (a section can be well formed and still name the wrong rows).
#include <deque>
#include <limits>
#include <string>
#include <vector>

#include "db/verify.h"
#include "index/hnsw.h"
#include "index/ivf.h"

namespace iqdb::db {
namespace {

using Stage = VerifyReport::Stage;

// Nodes reached from the entry point along links of any level: a search
// descends the upper levels and then walks level 0, so a node no chain of
// links leads to is one no search can return.
size_t reachable_nodes(const index::HnswIndex& h, uint32_t slot_end) {
  const uint32_t ep = h.entry_point();
  if (ep == index::kNoSlot) return 0;
  size_t reached = 0;
  std::vector<uint8_t> seen(slot_end, 0);
  std::deque<uint32_t> frontier{ep};
  seen[ep] = 1;
  while (!frontier.empty()) {
    const uint32_t at = frontier.front();
    frontier.pop_front();
    ++reached;
    for (uint32_t level = 0; level <= h.level(at); ++level) {
      for (uint32_t n : h.neighbors(at, level)) {
        if (n < seen.size() && !seen[n]) {
          seen[n] = 1;
          frontier.push_back(n);
        }
      }
    }
  }
  return reached;
}

void verify_hnsw(const index::HnswIndex& h, const index::VectorStore& store, Findings& out) {
  Status s = h.check();
  if (!s.ok()) out.damaged(Stage::kIndex, "hnsw graph: " + std::string(s.message()));
  size_t missing = 0, stale = 0;
  for (uint32_t slot = 0; slot < store.slot_end(); ++slot) {
    if (store.is_live(slot) && !h.contains(slot)) ++missing;
    if (!store.is_live(slot) && h.contains(slot)) ++stale;
  }
  if (missing)
    out.damaged(Stage::kIndex, std::to_string(missing) + " live rows are not in the graph");
  if (stale)
    out.damaged(Stage::kIndex, std::to_string(stale) + " graph nodes belong to removed rows");
  if (h.size() != store.size() && missing == 0 && stale == 0) {
    out.damaged(Stage::kIndex, "the graph has " + std::to_string(h.size()) + " nodes for " +
                                   std::to_string(store.size()) + " rows");
  }
  const uint32_t ep = h.entry_point();
  const bool bad_entry = store.size() > 0 && (ep == index::kNoSlot || !h.contains(ep));
  if (bad_entry) out.damaged(Stage::kIndex, "no valid entry point");
  if (!s.ok() || missing || stale || bad_entry) return;

  const size_t reached = reachable_nodes(h, store.slot_end());
  out.ok(Stage::kIndex, "hnsw, " + std::to_string(h.size()) + " nodes, entry point slot " +
                            (ep == index::kNoSlot ? std::string("none")
                                                  : std::to_string(ep) + " on level " +
                                                        std::to_string(h.level(ep))) +
                            ", links valid" + (h.uses_sq8() ? ", SQ8 codes" : ""));
  if (reached < h.size()) {
    out.report().unreachable_nodes = h.size() - reached;
    out.note(Stage::kIndex, std::to_string(h.size() - reached) + " of " + std::to_string(h.size()) +
                                " nodes cannot be reached from the entry point along any links (no "
                                "search can return them)");
  }
}

void verify_ivf(const index::IvfIndex& v, Findings& out) {
  Status s = v.check();
  if (!s.ok()) {
    out.damaged(Stage::kIndex, "ivf lists: " + std::string(s.message()));
    return;
  }
  if (!v.trained()) {
    out.ok(Stage::kIndex, "ivf, untrained: " + std::to_string(v.pending_rows()) +
                              " rows held for training, each live row once");
    return;
  }
  const index::IvfIndex::Audit audit = v.audit();
  const auto count = [](size_t n, const char* what) { return std::to_string(n) + " " + what; };
  if (audit.misfiled || audit.wrong_codes || audit.wrong_rows) {
    std::string what;
    if (audit.misfiled)
      what += count(audit.misfiled, "rows filed in a list that is not their nearest; ");
    if (audit.wrong_codes)
      what += count(audit.wrong_codes, "rows whose PQ codes differ from their re-encoding; ");
    if (audit.wrong_rows)
      what += count(audit.wrong_rows, "list rows that differ from the stored rows; ");
    out.damaged(Stage::kIndex,
                "ivf: " + what + "first at slot " + std::to_string(audit.first_bad_slot));
    return;
  }
  out.ok(Stage::kIndex, "ivf, " + std::to_string(v.n_lists()) +
                            " lists, every live row in exactly one list (its nearest), no removed "
                            "rows, " +
                            std::to_string(audit.entries) + " entries re-encoded and matching" +
                            (v.quantizer() ? " (PQ codes)" : " (rows)"));
}

// Every indexed value's slots must be exactly the live rows holding it:
// checked against an index rebuilt from the records.
void verify_payload(const index::VectorStore& store, Findings& out) {
  const index::PayloadIndex& loaded = store.payload();
  if (!loaded.usable()) {
    out.note(Stage::kIndex, "payload index not in use (filters test every row)");
    return;
  }
  index::PayloadIndex truth(std::numeric_limits<size_t>::max());
  for (uint32_t slot = 0; slot < store.slot_end(); ++slot) {
    if (store.is_live(slot)) truth.add(slot, store.metadata(slot));
  }
  if (!truth.usable()) {
    out.note(Stage::kIndex, "payload index not checked (out of memory)");
    return;
  }
  const index::PayloadIndex::Audit audit = loaded.audit(truth);
  if (audit.wrong_live) {
    out.damaged(Stage::kIndex, "payload index: its live rows differ from the store's");
  }
  if (audit.wrong_fields != 0) {
    out.damaged(Stage::kIndex, "payload index: " + std::to_string(audit.wrong_fields) +
                                   " fields whose slots differ from the rows' metadata, first \"" +
                                   audit.first_bad_field + "\"");
  }
  if (!audit.wrong_live && audit.wrong_fields == 0) {
    out.ok(Stage::kIndex, "payload index, " + std::to_string(audit.fields) +
                              " indexed fields, every value's slots match the rows' metadata");
  }
}

}  // namespace

void verify_index(const IndexKind& kind, const index::AnnIndex* ann,
                  const index::VectorStore& store, Findings& out) {
  verify_payload(store, out);
  if (ann == nullptr) {
    out.ok(Stage::kIndex, "flat (exact search needs no structure)");
    return;
  }
  if (const auto* h = dynamic_cast<const index::HnswIndex*>(ann))
    return verify_hnsw(*h, store, out);
  if (const auto* v = dynamic_cast<const index::IvfIndex*>(ann)) return verify_ivf(*v, out);
  out.ok(Stage::kIndex, std::string(kind.name()) + ": every structure validated while loading");
}

}  // namespace iqdb::db
