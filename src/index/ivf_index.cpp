// IvfIndex lifecycle: configuration, training, inserts, removes, retrains.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <numeric>
#include <random>

#include "exec/parallel.h"
#include "index/ivf.h"
#include "index/ivf_internal.h"
#include "kernels/pq.h"

namespace iqdb::index {

using ivf::kMinRowsPerList;
using ivf::kNoList;

namespace {

// 256 codewords per subquantizer want a few thousand residuals to train on.
constexpr size_t kPq8MinTrainRows = 4096;
// Residuals used to train the PQ codebooks, at most.
constexpr size_t kPqTrainRows4 = 16384;
constexpr size_t kPqTrainRows8 = 32768;
// Rows per parallel encoding task.
constexpr size_t kEncodeGrain = 64;
// Batches at least this large fill the lists in parallel, one task per list.
constexpr size_t kParallelFillRows = 2048;
// Training happens again once the row count has grown this much.
constexpr size_t kRetrainGrowth = 4;

Status out_of_memory() { return Status::ResourceExhausted("out of memory in the IVF index"); }

}  // namespace

Status IvfIndex::check_config(const IvfConfig& config, size_t dim, Metric metric) {
  if (config.n_probes == 0) return Status::InvalidArgument("IVF n_probes must be at least 1");
  if (config.refine_factor == 0)
    return Status::InvalidArgument("IVF refine_factor must be at least 1");
  if (config.n_clusters > (size_t{1} << 20))
    return Status::InvalidArgument("IVF n_clusters above 2^20");
  if (config.pq == IvfConfig::Pq::kNone) return Status::OK();
  if (metric == Metric::kL1 || metric == Metric::kHamming) {
    return Status::Unsupported(
        "IVF-PQ approximates L2 distances and dot products; it cannot serve the " +
        std::string(metric_name(metric)) + " metric (use IVF-Flat: pq = kNone)");
  }
  auto shape = ivf::pq_shape(config, dim);
  return shape.ok() ? Status::OK() : shape.status();
}

IvfIndex::IvfIndex(const VectorStore& store, const IvfConfig& config)
    : IvfIndex(store, config, Options{}) {}

IvfIndex::IvfIndex(const VectorStore& store, const IvfConfig& config, const Options& options)
    : store_(&store), config_(config), options_(options) {
  switch (store.metric()) {
    case Metric::kL1: partition_ = ivf::PartitionDistance::kL1; break;
    case Metric::kHamming: partition_ = ivf::PartitionDistance::kHamming; break;
    default: partition_ = ivf::PartitionDistance::kL2; break;
  }
  if (config_.pq != IvfConfig::Pq::kNone) {
    auto shape = ivf::pq_shape(config_, store.dim());
    if (shape.ok() && check_config(config_, store.dim(), store.metric()).ok()) {
      pq_shape_ = *shape;
    } else {
      config_.pq = IvfConfig::Pq::kNone;  // a broken precondition; serve IVF-Flat
    }
  }
  centroid_stride_ = ivf::round_up(std::max(store.dim(), pq_shape_.code_dim()), 16);
}

IvfIndex::IvfIndex(IvfIndex&&) noexcept = default;
IvfIndex& IvfIndex::operator=(IvfIndex&&) noexcept = default;
IvfIndex::~IvfIndex() = default;

IvfIndex::Codes IvfIndex::codes_kind() const noexcept {
  switch (config_.pq) {
    case IvfConfig::Pq::k8Bit: return Codes::kPq8;
    case IvfConfig::Pq::k4BitFastScan: return Codes::kFs4;
    case IvfConfig::Pq::kNone: break;
  }
  return Codes::kFlat;
}

bool IvfIndex::flat_code_rows() const noexcept {
  return store_->storage().type != StorageType::kF32 && store_->has_codes();
}

bool IvfIndex::store_ready() const noexcept {
  return store_->storage().type == StorageType::kF32 || store_->has_codes();
}

ivf::PayloadLayout IvfIndex::payload_layout(bool code_rows) const noexcept {
  ivf::PayloadLayout layout;
  switch (codes_kind()) {
    case Codes::kFlat:
      layout.kind = ivf::PayloadKind::kFlat;
      layout.entry_bytes =
          code_rows ? store_->code_stride_bytes() : store_->stride_floats() * sizeof(float);
      break;
    case Codes::kPq8:
      layout.kind = ivf::PayloadKind::kPq8;
      layout.entry_bytes = pq_shape_.num_sub;
      layout.num_sub = pq_shape_.num_sub;
      break;
    case Codes::kFs4:
      layout.kind = ivf::PayloadKind::kFs4;
      layout.num_sub = pq_shape_.num_sub;
      layout.m_pad = kernels::fs4_padded_subquantizers(pq_shape_.num_sub);
      break;
  }
  return layout;
}

size_t IvfIndex::lists_for(size_t rows) const noexcept {
  const size_t want = config_.n_clusters != 0
                          ? config_.n_clusters
                          : static_cast<size_t>(std::llround(std::sqrt(static_cast<double>(rows))));
  return std::clamp<size_t>(want, 1, std::max<size_t>(1, rows / kMinRowsPerList));
}

void IvfIndex::derive_from_centroids(Model& model) const {
  const size_t dim = store_->dim(), stride = centroid_stride_, n = model.n_lists;
  model.norms.resize(n);
  ivf::centroid_norms(model.centroid(0, stride), stride, n, dim, model.norms.data());
  // Lists are ranked by squared L2 to the (for cosine, normalised) query
  // under L2 and cosine; by dot product, L1 or Hamming otherwise.
  const Metric metric = store_->metric();
  const bool l2_ranking = metric == Metric::kL2 || metric == Metric::kCosine;
  if (l2_ranking && n * dim * sizeof(float) >= options_.coarse_codes_from_bytes) {
    model.coarse.build(model.centroid(0, stride), stride, n, dim);
    if (n >= options_.coarse_graph_from_lists) model.graph.build(model.coarse);
  }
}

size_t IvfIndex::train_threshold() const noexcept {
  if (options_.min_train_rows != 0) return options_.min_train_rows;
  // Automatic count: sqrt(n) lists of kMinRowsPerList rows first fit at
  // n = kMinRowsPerList^2.
  const size_t lists = config_.n_clusters != 0 ? config_.n_clusters : kMinRowsPerList;
  size_t rows = lists * kMinRowsPerList;
  if (config_.pq == IvfConfig::Pq::k8Bit) rows = std::max(rows, kPq8MinTrainRows);
  return rows;
}

size_t IvfIndex::sample_target(size_t rows) const noexcept {
  return config_.training_sample_size != 0 ? config_.training_sample_size : 256 * lists_for(rows);
}

bool IvfIndex::wants_retrain() const noexcept {
  const size_t live = store_->size();
  return options_.auto_retrain && trained() && live >= kRetrainGrowth * trained_rows_ &&
         trained_rows_ < sample_target(live);
}

size_t IvfIndex::n_lists() const noexcept { return model_ ? model_->n_lists : 0; }

bool IvfIndex::ranks_lists_by_codes() const noexcept { return model_ && !model_->coarse.empty(); }

bool IvfIndex::ranks_lists_by_graph() const noexcept { return model_ && !model_->graph.empty(); }

size_t IvfIndex::list_size(uint32_t list) const noexcept {
  return model_ && list < model_->n_lists ? model_->lists.size(list) : 0;
}

uint32_t IvfIndex::list_of(uint32_t slot) const noexcept {
  return model_ ? model_->lists.list_of(slot) : kNoList;
}

std::span<const float> IvfIndex::centroid(uint32_t list) const noexcept {
  return {model_->centroid(list, centroid_stride_), store_->dim()};
}

const ivf::ProductQuantizer* IvfIndex::quantizer() const noexcept {
  return model_ && pq_shape_.num_sub != 0 ? &model_->pq : nullptr;
}

std::vector<uint8_t> IvfIndex::codes(uint32_t slot) const {
  const uint32_t list = list_of(slot);
  if (list == kNoList || pq_shape_.num_sub == 0) return {};
  const uint32_t* slots = model_->lists.slots(list);
  const size_t pos =
      static_cast<size_t>(std::find(slots, slots + model_->lists.size(list), slot) - slots);
  std::vector<uint8_t> out(pq_shape_.num_sub);
  model_->lists.codes_at(list, pos, out.data());
  return out;
}

void IvfIndex::index_vector(uint32_t slot, float* out) const {
  const size_t dim = store_->dim();
  if (store_->has_f32_rows()) {
    std::memcpy(out, store_->row(slot), dim * sizeof(float));
  } else {
    store_->decode_row(slot, out);
  }
  if (store_->metric() == Metric::kCosine) {
    const float scale = store_->inv_norm(slot);
    for (size_t d = 0; d < dim; ++d) out[d] *= scale;
  }
  std::fill(out + dim, out + centroid_stride_, 0.0f);
}

size_t IvfIndex::memory_bytes() const {
  size_t bytes = pending_.capacity() * sizeof(uint32_t);
  if (model_) {
    bytes += model_->centroids.committed_bytes() + model_->norms.capacity() * sizeof(float) +
             model_->coarse.memory_bytes() + model_->graph.memory_bytes() +
             model_->pq.memory_bytes() + model_->lists.memory_bytes();
  }
  return bytes;
}

// ---- Training.

// Each row's list and (PQ) codes under `model`; only reads the store and
// the model, so it may run alongside searches.
struct IvfIndex::Filing {
  std::vector<uint32_t> labels;
  std::vector<uint8_t> codes;  // num_sub per row; empty for IVF-Flat
};

Status IvfIndex::check_filed(const Model& model, std::span<const uint32_t> slots,
                             bool filed) const {
  for (uint32_t slot : slots) {
    if ((model.lists.list_of(slot) != kNoList) != filed) {
      return Status::InvalidArgument("IVF: slot " + std::to_string(slot) +
                                     (filed ? " is not indexed" : " is already indexed"));
    }
  }
  return Status::OK();
}

Status IvfIndex::encode_rows(const Model& model, std::span<const uint32_t> slots,
                             Filing& out) const {
  const size_t n = slots.size();
  const size_t dim = store_->dim(), stride = centroid_stride_, num_sub = pq_shape_.num_sub;
  const float* centroids = model.centroid(0, stride);
  out.labels.resize(n);
  out.codes.resize(n * num_sub);
  exec::parallel_for(0, n, kEncodeGrain, [&](size_t begin, size_t end) {
    std::vector<float> rows((end - begin) * stride);
    for (size_t i = begin; i < end; ++i) index_vector(slots[i], rows.data() + (i - begin) * stride);
    ivf::assign_nearest(partition_, rows.data(), stride, end - begin, dim, centroids, stride,
                        model.norms.data(), model.n_lists, out.labels.data() + begin, nullptr);
    if (num_sub == 0) return;
    for (size_t i = begin; i < end; ++i) {
      float* r = rows.data() + (i - begin) * stride;
      const float* c = centroids + size_t{out.labels[i]} * stride;
      for (size_t d = 0; d < pq_shape_.code_dim(); ++d) r[d] -= c[d];
      model.pq.encode(r, out.codes.data() + i * num_sub);
    }
  });
  return Status::OK();
}

const uint8_t* IvfIndex::entry(const Model& model, const Filing& filing,
                               std::span<const uint32_t> slots, size_t i) const noexcept {
  const size_t num_sub = pq_shape_.num_sub;
  if (num_sub != 0) return filing.codes.data() + i * num_sub;
  return model.code_rows ? store_->code_row(slots[i])
                         : reinterpret_cast<const uint8_t*>(store_->row(slots[i]));
}

Status IvfIndex::add_rows(Model& model, std::span<const uint32_t> slots) const {
  const size_t n = slots.size();
  if (n == 0) return Status::OK();
  ivf::InvertedLists& lists = model.lists;
  IQDB_RETURN_IF_ERROR(lists.prepare_slots(store_->slot_end()));
  IQDB_RETURN_IF_ERROR(check_filed(model, slots, false));
  Filing filing;
  IQDB_RETURN_IF_ERROR(encode_rows(model, slots, filing));
  const std::vector<uint32_t>& labels = filing.labels;
  auto entry = [&](size_t i) { return this->entry(model, filing, slots, i); };
  if (n < kParallelFillRows) {
    for (size_t i = 0; i < n; ++i)
      IQDB_RETURN_IF_ERROR(lists.append(labels[i], slots[i], entry(i)));
    return Status::OK();
  }
  // Large batch: room first, then one task per list (tasks touch disjoint lists).
  std::vector<uint32_t> first(model.n_lists + 1, 0);
  for (uint32_t l : labels) ++first[l + 1];
  for (size_t l = 0; l < model.n_lists; ++l) {
    IQDB_RETURN_IF_ERROR(lists.reserve(static_cast<uint32_t>(l),
                                       lists.size(static_cast<uint32_t>(l)) + first[l + 1]));
    first[l + 1] += first[l];
  }
  std::vector<uint32_t> order(n);
  {
    std::vector<uint32_t> fill(first.begin(), first.end() - 1);
    for (size_t i = 0; i < n; ++i) order[fill[labels[i]]++] = static_cast<uint32_t>(i);
  }
  exec::parallel_for(0, model.n_lists, 1, [&](size_t begin, size_t end) {
    for (size_t l = begin; l < end; ++l) {
      for (uint32_t e = first[l]; e < first[l + 1]; ++e) {
        lists.append_reserved(static_cast<uint32_t>(l), slots[order[e]], entry(order[e]));
      }
    }
  });
  lists.recount_total();
  return Status::OK();
}

// What train() computes before it swaps anything in: the heavy part, which
// only reads the store and so may run alongside searches.
struct IvfIndex::Training {
  bool store_ready = true;
  std::unique_ptr<Model> model;  // null with no live rows (or store not ready)
  std::vector<uint32_t> live;
};

Status IvfIndex::train() {
  Training t;
  IQDB_RETURN_IF_ERROR(prepare_training(t));
  install(t);
  return Status::OK();
}

void IvfIndex::install(Training& t) {
  if (!t.store_ready) {  // SQ8 before its codes exist: keep answering exactly
    if (!trained()) pending_ = std::move(t.live);
    return;
  }
  // The old model leaves with `t`: freed by the caller, outside any
  // exclusive step.
  std::swap(model_, t.model);
  pending_.clear();
  pending_.shrink_to_fit();
  trained_rows_ = model_ ? t.live.size() : 0;
}

// Rows filed per exclusive step: a large batch is encoded and appended a
// slice at a time, so each step's appends stay bounded.
constexpr size_t kFileRowsPerStep = 256;

Status IvfIndex::prepare_training(Training& t) const {
  std::vector<uint32_t>& live = t.live;
  live.reserve(store_->size());
  for (uint32_t s = 0; s < store_->slot_end(); ++s) {
    if (store_->is_live(s)) live.push_back(s);
  }
  const size_t n = live.size();
  if (n == 0) return Status::OK();
  if (!store_ready()) {
    t.store_ready = false;
    return Status::OK();
  }
  const size_t dim = store_->dim(), stride = centroid_stride_;
  const size_t n_lists = lists_for(n);

  // A uniform sample of the rows (partial Fisher-Yates on a copy).
  std::vector<uint32_t> sample = live;
  const size_t s = std::min(sample_target(n), n);
  std::mt19937_64 rng(config_.seed);
  for (size_t i = 0; i < s; ++i) {
    std::uniform_int_distribution<size_t> pick(i, n - 1);
    std::swap(sample[i], sample[pick(rng)]);
  }
  sample.resize(s);
  std::vector<float> rows(s * stride);
  exec::parallel_for(0, s, 256, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) index_vector(sample[i], rows.data() + i * stride);
  });

  const bool code_rows = flat_code_rows();
  auto model = std::make_unique<Model>(payload_layout(code_rows), n_lists, pq_shape_, code_rows);
  IQDB_RETURN_IF_ERROR(model->centroids.grow(n_lists * stride * sizeof(float)));
  float* centroids = reinterpret_cast<float*>(model->centroids.data());
  ivf::KMeansOptions kmeans;
  kmeans.iterations = options_.kmeans_iterations;
  kmeans.seed = config_.seed;
  ivf::train_kmeans(rows.data(), stride, s, dim, n_lists, partition_, kmeans, centroids, stride);
  derive_from_centroids(*model);

  if (pq_shape_.num_sub != 0) {
    const size_t ps = std::min(s, pq_shape_.ksub == 256 ? kPqTrainRows8 : kPqTrainRows4);
    std::vector<uint32_t> labels(ps);
    ivf::assign_nearest(partition_, rows.data(), stride, ps, dim, centroids, stride,
                        model->norms.data(), n_lists, labels.data(), nullptr);
    exec::parallel_for(0, ps, 256, [&](size_t begin, size_t end) {
      for (size_t i = begin; i < end; ++i) {
        const float* c = centroids + size_t{labels[i]} * stride;
        float* r = rows.data() + i * stride;
        for (size_t d = 0; d < pq_shape_.code_dim(); ++d) r[d] -= c[d];
      }
    });
    model->pq.train(rows.data(), stride, ps, options_.pq_iterations, config_.seed ^ 0x5051ull);
  }
  std::vector<float>().swap(rows);

  IQDB_RETURN_IF_ERROR(add_rows(*model, live));
  t.model = std::move(model);
  return Status::OK();
}

// ---- Writes.

Status IvfIndex::insert_trained(std::span<const uint32_t> slots) {
  IQDB_RETURN_IF_ERROR(add_rows(*model_, slots));
  return wants_retrain() ? train() : Status::OK();
}

Status IvfIndex::insert(uint32_t slot) { return insert_batch({&slot, 1}); }

Status IvfIndex::insert_batch(std::span<const uint32_t> slots) {
  try {
    if (trained()) return insert_trained(slots);
    pending_.insert(pending_.end(), slots.begin(), slots.end());
    return pending_.size() >= train_threshold() && store_ready() ? train() : Status::OK();
  } catch (const std::bad_alloc&) {
    return out_of_memory();
  }
}

Status IvfIndex::insert_batch(std::span<const uint32_t> slots, Publisher& publisher) {
  try {
    const bool trains =
        !trained() && pending_.size() + slots.size() >= train_threshold() && store_ready();
    if (!trains) {
      Status s;
      for (size_t begin = 0; begin < slots.size() && s.ok(); begin += kFileRowsPerStep) {
        const auto slice = slots.subspan(begin, std::min(kFileRowsPerStep, slots.size() - begin));
        if (trained()) {
          s = file_alongside(slice, false, publisher);
        } else {
          publisher.exclusive([&] { pending_.insert(pending_.end(), slice.begin(), slice.end()); });
        }
      }
      if (!s.ok() || !trained() || !wants_retrain()) return s;
    }
    // (Re)training; the store already holds `slots`, so the new model
    // covers them.
    return train_alongside(publisher);
  } catch (const std::bad_alloc&) {
    return out_of_memory();
  }
}

// k-means and filing every row run alongside searches; only the swap is
// exclusive.
Status IvfIndex::train_alongside(Publisher& publisher) {
  Training t;
  IQDB_RETURN_IF_ERROR(prepare_training(t));
  publisher.exclusive([&] { install(t); });
  return Status::OK();
}

// One filing prepared alongside searches: each row's list and codes, and
// the bigger lists and slot map commit() swaps in.
struct IvfIndex::PreparedFiling final : PreparedInsert {
  std::vector<uint32_t> slots;
  bool refile = false;
  Filing filing;
  ivf::InvertedLists::Growth growth;
};

Status IvfIndex::prepare_filing(std::span<const uint32_t> slots, bool refile, uint32_t slot_end,
                                PreparedFiling& out) const {
  // The writer is the only one changing the lists, so what is read here
  // stays as read until the exclusive step that commits it.
  IQDB_RETURN_IF_ERROR(check_filed(*model_, slots, refile));
  out.slots.assign(slots.begin(), slots.end());
  out.refile = refile;
  IQDB_RETURN_IF_ERROR(encode_rows(*model_, slots, out.filing));
  return model_->lists.prepare_growth(out.filing.labels, slot_end, out.growth);
}

void IvfIndex::commit_filing(PreparedFiling& prepared) noexcept {
  ivf::InvertedLists& lists = model_->lists;
  const std::span<const uint32_t> slots = prepared.slots;
  lists.commit_growth(prepared.growth);
  for (size_t i = 0; i < slots.size(); ++i) {
    if (prepared.refile) lists.remove(slots[i]);
    lists.append_reserved(prepared.filing.labels[i], slots[i],
                          entry(*model_, prepared.filing, slots, i));
  }
  lists.add_to_total(slots.size());
}

Status IvfIndex::file_alongside(std::span<const uint32_t> slots, bool refile,
                                Publisher& publisher) {
  PreparedFiling prepared;
  IQDB_RETURN_IF_ERROR(prepare_filing(slots, refile, store_->slot_end(), prepared));
  publisher.exclusive([&] { commit_filing(prepared); });
  return Status::OK();  // buffers the lists outgrew are freed with `prepared`, here
}

Result<std::unique_ptr<PreparedInsert>> IvfIndex::prepare_insert(std::span<const uint32_t> slots,
                                                                 uint32_t slot_end) {
  try {
    // Untrained, rows wait in pending_ and a training reads the store's
    // live rows, which do not include unpublished ones yet.
    if (!trained()) return std::unique_ptr<PreparedInsert>();
    auto prepared = std::make_unique<PreparedFiling>();
    IQDB_RETURN_IF_ERROR(prepare_filing(slots, false, slot_end, *prepared));
    return std::unique_ptr<PreparedInsert>(std::move(prepared));
  } catch (const std::bad_alloc&) {
    return out_of_memory();
  }
}

void IvfIndex::commit_insert(PreparedInsert& prepared) noexcept {
  commit_filing(static_cast<PreparedFiling&>(prepared));
}

Status IvfIndex::finish_insert(Publisher& publisher) {
  try {
    return wants_retrain() ? train_alongside(publisher) : Status::OK();
  } catch (const std::bad_alloc&) {
    return out_of_memory();
  }
}

Status IvfIndex::update(uint32_t slot, Publisher& publisher) {
  try {
    if (!trained() || model_->lists.list_of(slot) == kNoList) {
      return AnnIndex::update(slot, publisher);
    }
    return file_alongside({&slot, 1}, true, publisher);
  } catch (const std::bad_alloc&) {
    return out_of_memory();
  }
}

void IvfIndex::remove(uint32_t slot) {
  if (trained()) {
    model_->lists.remove(slot);
    return;
  }
  auto it = std::find(pending_.begin(), pending_.end(), slot);
  if (it != pending_.end()) {
    *it = pending_.back();
    pending_.pop_back();
  }
}

Status IvfIndex::update(uint32_t slot) {
  try {
    if (!trained()) {
      if (std::find(pending_.begin(), pending_.end(), slot) == pending_.end())
        pending_.push_back(slot);
      return Status::OK();
    }
    model_->lists.remove(slot);
    return add_rows(*model_, {&slot, 1});
  } catch (const std::bad_alloc&) {
    return out_of_memory();
  }
}

Status IvfIndex::optimize(Publisher& publisher) {
  try {
    Training t;
    IQDB_RETURN_IF_ERROR(prepare_training(t));
    publisher.exclusive([&] { install(t); });
    return Status::OK();
  } catch (const std::bad_alloc&) {
    return out_of_memory();
  }
}

Status IvfIndex::optimize() {
  try {
    return train();
  } catch (const std::bad_alloc&) {
    return out_of_memory();
  }
}

Status IvfIndex::check() const {
  const uint32_t end = store_->slot_end();
  if (!trained()) {
    std::vector<uint8_t> seen(end, 0);
    for (uint32_t s : pending_) {
      if (!store_->is_live(s))
        return Status::Corruption("IVF pending slot " + std::to_string(s) + " is dead");
      if (seen[s]++) return Status::Corruption("IVF pending slot " + std::to_string(s) + " twice");
    }
    if (pending_.size() != store_->size())
      return Status::Corruption("IVF pending rows disagree with the store");
    return Status::OK();
  }
  const ivf::InvertedLists& lists = model_->lists;
  size_t total = 0;
  for (uint32_t l = 0; l < model_->n_lists; ++l) {
    for (size_t e = 0; e < lists.size(l); ++e) {
      const uint32_t s = lists.slots(l)[e];
      if (!store_->is_live(s))
        return Status::Corruption("IVF list holds dead slot " + std::to_string(s));
      if (lists.list_of(s) != l)
        return Status::Corruption("IVF slot map disagrees for " + std::to_string(s));
    }
    total += lists.size(l);
  }
  if (total != store_->size() || total != lists.total()) {
    return Status::Corruption("IVF lists hold " + std::to_string(total) + " rows, the store " +
                              std::to_string(store_->size()));
  }
  for (uint32_t s = 0; s < end; ++s) {
    if (store_->is_live(s) && lists.list_of(s) == kNoList) {
      return Status::Corruption("IVF lacks live row " + std::to_string(s));
    }
  }
  return Status::OK();
}

}  // namespace iqdb::index
