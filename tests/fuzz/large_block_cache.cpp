// Linked into the libFuzzer build of fuzz_udp_rx only: operator new / delete that keep freed large
// blocks for the next input instead of giving them back.
//
// Why: every input builds a driver Transport, whose tables are about 1.1 MB (the ACK aggregator
// alone is 782 KB). ASan serves blocks above 128 KiB with a fresh mmap and unmaps them on free, so
// each input faulted in and cleared some 280 pages: perf showed half the run's time in the kernel
// (page faults, clear_page, unmap). Reusing the blocks keeps the pages mapped and roughly doubles
// the inputs per second (docs/fuzzing.md).
//
// What ASan still sees: every block comes from its malloc and goes back with free, so overflows
// past a block's end and mismatched new/free are still caught. A use after free of a kept large
// block is not (the block stays allocated for ASan); the harness frees them only when its
// Transport is destroyed at the end of an input, and the next input owns them afresh.
#include <cstddef>
#include <cstdlib>
#include <malloc.h>
#include <new>

namespace {

constexpr std::size_t kLargeBlock = 64 * 1024; // below this ASan's size-class allocator reuses memory itself
constexpr int kSlots = 32;                     // a Transport holds fewer large blocks than this

struct Kept {
  void *block;
  std::size_t size;
};
Kept g_kept[kSlots];

void *take(std::size_t size) {
  for (Kept &k : g_kept)
    if (k.block && k.size == size) {
      void *p = k.block;
      k.block = nullptr;
      return p;
    }
  return nullptr;
}

bool keep(void *p, std::size_t size) {
  for (Kept &k : g_kept)
    if (!k.block) {
      k = Kept{p, size};
      return true;
    }
  return false;
}

void *allocate(std::size_t size) {
  if (size >= kLargeBlock)
    if (void *p = take(size)) return p;
  if (void *p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}

void release(void *p) {
  if (!p) return;
  std::size_t size = malloc_usable_size(p); // ASan's: the size asked for
  if (size >= kLargeBlock && keep(p, size)) return;
  std::free(p);
}

} // namespace

void *operator new(std::size_t size) {
  return allocate(size);
}
void *operator new[](std::size_t size) {
  return allocate(size);
}
void *operator new(std::size_t size, const std::nothrow_t &) noexcept {
  try {
    return allocate(size);
  } catch (...) {
    return nullptr;
  }
}
void *operator new[](std::size_t size, const std::nothrow_t &) noexcept {
  try {
    return allocate(size);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void *p) noexcept {
  release(p);
}
void operator delete[](void *p) noexcept {
  release(p);
}
void operator delete(void *p, std::size_t) noexcept {
  release(p);
}
void operator delete[](void *p, std::size_t) noexcept {
  release(p);
}
void operator delete(void *p, const std::nothrow_t &) noexcept {
  release(p);
}
void operator delete[](void *p, const std::nothrow_t &) noexcept {
  release(p);
}
