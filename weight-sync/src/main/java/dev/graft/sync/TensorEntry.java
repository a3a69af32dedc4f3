package dev.graft.sync;

import java.util.List;

/**
 * One tensor of a published version, as a manifest lists it: fp32 values packed little-endian.
 *
 * @param name Hugging Face name
 * @param shape row-major shape, every dimension &gt;= 0
 * @param byteLength {@code 4 * product(shape)}
 * @param sha256 lower-case hex SHA-256 of the packed bytes
 */
public record TensorEntry(String name, List<Long> shape, long byteLength, String sha256) {

  public TensorEntry {
    if (name == null || name.isEmpty()) {
      throw new IllegalArgumentException("a tensor needs a non-empty name");
    }
    shape = List.copyOf(shape);
    if (sha256 == null) {
      throw new IllegalArgumentException("tensor " + name + " has no sha256");
    }
  }

  /** Number of elements of {@code shape}; -1 when a dimension is negative or it overflows. */
  public static long elementCount(List<Long> shape) {
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        return -1;
      }
      try {
        n = Math.multiplyExact(n, d);
      } catch (ArithmeticException e) {
        return -1;
      }
    }
    return n;
  }
}
