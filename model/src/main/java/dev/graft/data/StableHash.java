package dev.graft.data;

import java.nio.charset.StandardCharsets;

/**
 * Hashes and pseudo-random numbers that are identical on every JVM and platform, so that splits and
 * shuffles depend only on their inputs and seed (unlike {@link String#hashCode()} mixed with
 * {@link java.util.Random}, whose algorithms the platform could change).
 */
final class StableHash {

  private static final long FNV_OFFSET = 0xcbf29ce484222325L;
  private static final long FNV_PRIME = 0x100000001b3L;
  private static final long GOLDEN_GAMMA = 0x9e3779b97f4a7c15L;

  private StableHash() {}

  /** 64-bit FNV-1a of the UTF-8 bytes of {@code s}, finalised with {@link #mix64}. */
  static long hash(String s, long seed) {
    long h = FNV_OFFSET;
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      h ^= b & 0xff;
      h *= FNV_PRIME;
    }
    return mix64(h ^ mix64(seed));
  }

  /** The SplitMix64 finaliser: a bijection on longs with good avalanche. */
  static long mix64(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }

  /**
   * A permutation of {@code 0..size-1} by Fisher-Yates driven by SplitMix64 seeded with {@code
   * seed} and {@code stream}; the same arguments always give the same permutation.
   */
  static int[] permutation(int size, long seed, long stream) {
    int[] order = new int[size];
    for (int i = 0; i < size; i++) {
      order[i] = i;
    }
    long state = mix64(seed) ^ mix64(stream + GOLDEN_GAMMA);
    for (int i = size - 1; i > 0; i--) {
      state += GOLDEN_GAMMA;
      int j = (int) Long.remainderUnsigned(mix64(state), i + 1L);
      int tmp = order[i];
      order[i] = order[j];
      order[j] = tmp;
    }
    return order;
  }
}
