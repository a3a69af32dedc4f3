package dev.graft.checkpoint;

import java.util.List;

/**
 * One tensor's entry in a safetensors header: its element type, its shape, and where its bytes lie,
 * as {@code [begin, end)} relative to the start of the data section (just after the header).
 */
public record TensorInfo(String name, Dtype dtype, List<Long> shape, long begin, long end) {

  public TensorInfo {
    shape = List.copyOf(shape);
  }

  /** Product of the dimensions; 1 for a scalar. */
  public long elementCount() {
    return elementCount(shape);
  }

  /** Bytes the data should occupy: elements times element size. */
  public long byteSize() {
    return Math.multiplyExact(elementCount(), dtype.byteSize());
  }

  /** The shape as an array, as DJL's {@code Shape} takes it. */
  public long[] shapeArray() {
    return shape.stream().mapToLong(Long::longValue).toArray();
  }

  /**
   * Product of {@code dims}.
   *
   * @throws IllegalArgumentException for a negative dimension
   * @throws ArithmeticException if the product overflows a long
   */
  public static long elementCount(List<Long> dims) {
    long n = 1;
    for (long d : dims) {
      if (d < 0) {
        throw new IllegalArgumentException("negative dimension " + d + " in shape " + dims);
      }
      n = Math.multiplyExact(n, d);
    }
    return n;
  }
}
