package dev.graft.checkpoint;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * Element types of the safetensors format, named as they appear in a file header. Only
 * {@link #F32}, {@link #F16} and {@link #BF16} convert to fp32; the others can be read as raw
 * little-endian bytes.
 */
public enum Dtype {
  F32(4),
  F16(2),
  BF16(2),
  F64(8),
  I64(8),
  I32(4),
  I16(2),
  I8(1),
  U8(1),
  BOOL(1);

  private final int byteSize;

  Dtype(int byteSize) {
    this.byteSize = byteSize;
  }

  /** Bytes one element occupies. */
  public int byteSize() {
    return byteSize;
  }

  /** Whether tensors of this type convert to and from fp32 ({@code F32}, {@code F16}, {@code BF16}). */
  public boolean isFloat32Convertible() {
    return this == F32 || this == F16 || this == BF16;
  }

  /**
   * The type a header names, for example {@code "BF16"}.
   *
   * @throws IllegalArgumentException for a name this enum does not know, listing the ones it does
   */
  public static Dtype parse(String name) {
    for (Dtype d : values()) {
      if (d.name().equals(name)) {
        return d;
      }
    }
    throw new IllegalArgumentException(
        "unsupported dtype '" + name + "' (supported: "
            + Arrays.stream(values()).map(Enum::name).collect(Collectors.joining(", ")) + ")");
  }

  /**
   * Checks that tensors can be stored in this type by converting fp32 values.
   *
   * @throws IllegalArgumentException unless this is F32, F16 or BF16
   */
  public Dtype requireFloat32Convertible() {
    if (!isFloat32Convertible()) {
      throw new IllegalArgumentException(
          "dtype " + this + " cannot hold converted fp32 values; use F32, F16 or BF16");
    }
    return this;
  }
}
