// The id map, rows and norms stages of verification.
#include <cmath>
#include <string>
#include <vector>

#include "db/verify.h"

namespace iqdb::db {
namespace {

using Stage = VerifyReport::Stage;
constexpr size_t kMaxListed = 10;

// How far a row's stored norms (those of the floats as written) may be from
// the norm of the row as decoded. Exact rows (f32, u8, or any type with its
// f32 rows kept) allow float rounding; f16 and bf16 rows allow their
// rounding of each value (relative 2^-11 and 2^-8), doubled. SQ8 codes clamp
// values outside the trained range, so their rows are not compared.
struct NormTolerance {
  bool check = true;
  double relative = 1e-3;
  double absolute = 0;  // per dimension, for values rounded to zero
};

NormTolerance norm_tolerance(const index::VectorStore& store) {
  if (store.has_f32_rows() || store.codes_are_exact()) return {};
  switch (store.storage().type) {
    case StorageType::kF16: return {true, 2.0 / 2048, 1e-7};
    case StorageType::kBF16: return {true, 2.0 / 256, 1e-38};
    default: return {false, 0, 0};
  }
}

// `norm` is |decoded row|; the store holds 1/|x| and |x|^2 of the row as
// written.
bool norms_agree(double norm, float inv_norm, float sq_norm, const NormTolerance& t, size_t dim) {
  // 1e-30: norms so small that their inverse overflows a float.
  const double slack = t.relative * norm + t.absolute * std::sqrt(double(dim)) + 1e-30;
  const double from_inv = inv_norm > 0 && std::isfinite(inv_norm) ? 1.0 / double(inv_norm) : 0.0;
  const double from_sq = std::sqrt(std::max(0.0, double(sq_norm)));
  if (!std::isfinite(from_sq)) return true;  // |x|^2 past FLT_MAX is stored as +inf
  return std::abs(from_inv - norm) <= slack && std::abs(from_sq - norm) <= slack;
}

}  // namespace

bool verify_store(const index::VectorStore& store, std::optional<uint64_t> header_records,
                  Findings& out) {
  const NormTolerance tolerance = norm_tolerance(store);
  std::vector<float> row(store.dim());
  size_t live = 0, listed = 0, bad = 0, non_finite = 0, bad_norm = 0;
  for (uint32_t slot = 0; slot < store.slot_end(); ++slot) {
    if (!store.is_live(slot)) continue;
    ++live;
    const uint32_t found = store.find(store.id(slot));
    if (found != slot) {
      ++bad;
      if (listed++ < kMaxListed) {
        out.damaged(Stage::kIds, "slot " + std::to_string(slot) + " holds id " +
                                     store.id(slot).to_string() + ", which maps to slot " +
                                     (found == index::kNoSlot ? "none" : std::to_string(found)));
      }
    }
    store.decode_row(slot, row.data());
    double norm2 = 0;
    bool finite = true;
    for (size_t j = 0; j < store.dim(); ++j) {
      finite = finite && std::isfinite(row[j]);
      norm2 += double(row[j]) * double(row[j]);
    }
    if (!finite) {
      ++non_finite;
      continue;
    }
    if (tolerance.check && !norms_agree(std::sqrt(norm2), store.inv_norm(slot), store.sq_norm(slot),
                                        tolerance, store.dim())) {
      ++bad_norm;
    }
  }
  out.report().records = live;
  if (bad > kMaxListed) {
    out.damaged(Stage::kIds,
                "... and " + std::to_string(bad - kMaxListed) + " more slots like these");
  }
  if (live != store.size()) {
    out.damaged(Stage::kIds, std::to_string(live) + " live slots but the store counts " +
                                 std::to_string(store.size()));
  }
  const bool header_agrees = !header_records || store.size() == *header_records;
  if (!header_agrees) {
    out.damaged(Stage::kIds, "the header says " + std::to_string(*header_records) +
                                 " records, the store has " + std::to_string(store.size()));
  }
  if (bad == 0 && live == store.size() && header_agrees) {
    out.ok(Stage::kIds, std::to_string(live) + " live slots of " +
                            std::to_string(store.slot_end()) + ", each id maps back to its slot");
  }
  if (non_finite) {
    out.damaged(Stage::kVectors, std::to_string(non_finite) + " rows hold NaN or infinite values");
  }
  if (bad_norm) {
    out.damaged(Stage::kVectors,
                std::to_string(bad_norm) + " rows have a stored norm that does not match the row");
  }
  if (non_finite == 0 && bad_norm == 0) {
    std::string how = storage_type_name(store.storage().type);
    if (store.has_codes() && store.has_f32_rows()) how += " and f32";
    if (!store.has_codes() && store.storage().type != StorageType::kF32) how = "f32, untrained sq8";
    out.ok(Stage::kVectors, "all finite" +
                                std::string(tolerance.check ? ", norms consistent" : "") + " (" +
                                how + " rows)");
  }
  if (!tolerance.check && live > 0) {
    out.note(Stage::kVectors,
             "norms not compared with the rows: SQ8 codes clamp values outside the trained "
             "range, so a decoded row can differ from the row written by any amount");
  }
  return bad == 0;
}

}  // namespace iqdb::db
