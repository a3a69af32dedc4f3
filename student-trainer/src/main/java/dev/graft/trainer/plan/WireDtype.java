package dev.graft.trainer.plan;

import java.util.Locale;

/** Precision of the teacher's log-probs on the wire. */
public enum WireDtype {
  FP32, FP16, BF16;

  /** The wire dtype of the teacher protocol. */
  public dev.graft.proto.v1.DType proto() {
    return switch (this) {
      case FP32 -> dev.graft.proto.v1.DType.DTYPE_FLOAT32;
      case FP16 -> dev.graft.proto.v1.DType.DTYPE_FLOAT16;
      case BF16 -> dev.graft.proto.v1.DType.DTYPE_BFLOAT16;
    };
  }

  /** Reads {@code fp32}, {@code fp16} or {@code bf16} (case ignored). */
  public static WireDtype parse(String s) {
    try {
      return valueOf(s.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("loss.value_dtype '" + s + "' must be fp32, fp16 or bf16");
    }
  }
}
