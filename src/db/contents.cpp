#include "db/contents.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "db/index_factory.h"
#include "db/result_cache.h"
#include "util/fault_injection.h"

namespace iqdb::db {

Contents::Contents(const Config& config)
    : config_(config), store_(config.dim(), config.metric(), config.storage()) {
  store_.set_indexed_fields(config.indexed_fields());
}

Result<std::unique_ptr<Contents>> Contents::create(const Config& config) {
  std::unique_ptr<Contents> c(new Contents(config));
  auto ann = make_index(config.index_kind(), c->store_);
  if (!ann) return ann.status();
  c->ann_ = std::move(*ann);
  return c;
}

Result<std::unique_ptr<Contents>> Contents::load(Config config, const index::SectionSource& source,
                                                 uint64_t record_count, bool keep_stored_fields) {
  auto store = index::VectorStore::load(config.dim(), config.metric(), source);
  if (!store) return store.status();
  if (store->size() != record_count) {
    return Status::Corruption("snapshot record count disagrees with its rows");
  }
  config.storage(store->storage());  // the stored row type wins, like the index kind
  if (keep_stored_fields) {
    config.indexed_fields(store->payload().declared_fields());
  } else {
    store->set_indexed_fields(config.indexed_fields());
  }
  std::unique_ptr<Contents> c(new Contents(config));
  c->store_ = std::move(*store);
  auto ann = load_index(config.index_kind(), c->store_, source);
  if (!ann) return ann.status();
  c->ann_ = std::move(*ann);
  return c;
}

Status Contents::upsert(const VectorId& id, std::span<const float> vector, const Metadata* metadata,
                        ResultCache* cache, index::Publisher& publisher) {
  // Set by the exclusive step below (a Result built from no status would
  // allocate an error message first, on every write).
  std::optional<Result<index::VectorStore::UpsertResult>> applied;
  // Grown beside reads; the old arrays are freed when `room` goes, after.
  index::VectorStore::Room room = store_.prepare_room(1);
  if (ann_ && ann_->prepares_inserts() && store_.find(id) == index::kNoSlot) {
    // A new id: row and filing alongside reads, then one step publishes both.
    auto staged = store_.stage(vector);
    if (!staged) return staged.status();
    if (*staged != index::kNoSlot) {
      const uint32_t slot = *staged;
      auto prepared = ann_->prepare_insert(std::span<const uint32_t>(&slot, 1), slot + 1);
      if (!prepared) return prepared.status();
      if (*prepared) return upsert_staged(id, slot, metadata, **prepared, room, cache, publisher);
    }
  }
  publisher.exclusive([&] {
    store_.commit_room(room);
    applied.emplace(store_.upsert(id, vector, metadata));
  });
  Result<index::VectorStore::UpsertResult>& r = *applied;
  if (!r) return r.status();
  util::maybe_throw_injected_apply_fault();
  Status s;
  if (ann_) {
    s = r->replaced ? ann_->update(r->slot, publisher)
                    : ann_->insert_batch(std::span<const uint32_t>(&r->slot, 1), publisher);
  }
  if (cache) {
    publisher.exclusive([&] { cache->on_upsert(store_, r->slot, r->replaced); });
    cache->release_cleared();
  }
  return s;
}

Status Contents::upsert_staged(const VectorId& id, uint32_t slot, const Metadata* metadata,
                               index::PreparedInsert& prepared, index::VectorStore::Room& room,
                               ResultCache* cache, index::Publisher& publisher) {
  std::unique_ptr<Metadata> meta = metadata ? std::make_unique<Metadata>(*metadata) : nullptr;
  Status s;
  publisher.exclusive([&] {
    store_.commit_room(room);
    s = store_.publish(slot, id, std::move(meta));
    if (!s.ok()) return;
    ann_->commit_insert(prepared);
    if (cache) cache->on_upsert(store_, slot, false);
  });
  if (cache) cache->release_cleared();
  IQDB_RETURN_IF_ERROR(s);
  util::maybe_throw_injected_apply_fault();
  return ann_->finish_insert(publisher);
}

Status Contents::upsert_batch(std::span<const VectorId> ids, std::span<const float> rows,
                              std::span<const Metadata* const> metadata, ResultCache* cache,
                              index::Publisher& publisher) {
  const size_t dim = config_.dim();
  std::vector<uint32_t> inserted, touched, replaced;
  // fresh[slot] != 0: the slot was inserted by this batch and waits for
  // insert_batch below, which reads its final vector (a later row of the
  // batch may have replaced it again).
  std::vector<uint8_t> fresh;
  inserted.reserve(ids.size());
  // Sized beside reads: new slots are below slot_end() + ids.size().
  if (ann_) fresh.assign(size_t{store_.slot_end()} + ids.size(), 0);
  if (cache) touched.reserve(ids.size());
  bool any_replaced = false;
  Status failed;
  for (size_t begin = 0; begin < ids.size() && failed.ok(); begin += kPublishRows) {
    const size_t end = std::min(ids.size(), begin + kPublishRows);
    replaced.clear();
    index::VectorStore::Room room = store_.prepare_room(end - begin);
    publisher.exclusive([&] {
      store_.commit_room(room);
      for (size_t i = begin; i < end; ++i) {
        auto r = store_.upsert(ids[i], rows.subspan(i * dim, dim),
                               metadata.empty() ? nullptr : metadata[i]);
        if (!r) {
          failed = r.status();
          return;
        }
        if (cache) touched.push_back(r->slot);
        any_replaced = any_replaced || r->replaced;
        if (!ann_) continue;
        const bool waiting = r->slot < fresh.size() && fresh[r->slot] != 0;
        if (r->replaced) {
          if (!waiting) replaced.push_back(r->slot);
        } else {
          if (r->slot >= fresh.size())
            fresh.resize(std::max<size_t>(r->slot + 1, fresh.size() * 2));
          fresh[r->slot] = 1;
          inserted.push_back(r->slot);
        }
      }
    });
    if (begin <= ids.size() / 2 && ids.size() / 2 < end) util::maybe_throw_injected_apply_fault();
    for (uint32_t slot : replaced) {
      if (!failed.ok()) break;
      failed = ann_->update(slot, publisher);
    }
  }
  IQDB_RETURN_IF_ERROR(failed);
  Status s;
  if (ann_ && !inserted.empty()) s = ann_->insert_batch(inserted, publisher);
  if (cache) {
    publisher.exclusive([&] { cache->on_upsert_many(store_, touched, any_replaced); });
    cache->release_cleared();
  }
  return s;
}

bool Contents::remove(const VectorId& id, ResultCache* cache, index::Publisher& publisher) {
  return remove_batch({&id, 1}, cache, publisher) == 1;
}

size_t Contents::remove_batch(std::span<const VectorId> ids, ResultCache* cache,
                              index::Publisher& publisher) {
  std::vector<uint32_t> slots;
  std::vector<const VectorId*> removed;
  slots.reserve(ids.size());
  removed.reserve(ids.size());
  publisher.exclusive([&] {
    for (const VectorId& id : ids) {
      const uint32_t slot = store_.retire(id);  // kNoSlot: absent, or retired just now
      if (slot == index::kNoSlot) continue;
      slots.push_back(slot);
      removed.push_back(&id);
    }
  });
  if (slots.empty()) return 0;
  if (ann_) ann_->remove_batch(slots, publisher);
  publisher.exclusive([&] {
    for (const uint32_t slot : slots) store_.reclaim(slot);
    if (cache) {
      for (const VectorId* id : removed) cache->on_remove(*id);
    }
  });
  if (cache) cache->release_cleared();
  return slots.size();
}

Status Contents::optimize(index::Publisher& publisher) {
  return ann_ ? ann_->optimize(publisher) : Status::OK();
}

void Contents::save(index::SectionSink& sink) const {
  store_.save(sink);
  if (ann_) ann_->save(sink);
}

}  // namespace iqdb::db
