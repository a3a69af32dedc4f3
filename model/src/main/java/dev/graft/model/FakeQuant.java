package dev.graft.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * Symmetric fake quantization of a (out, in) weight to a signed {@code bits}-bit integer grid, with
 * one fp32 scale per row ({@code groupSize} 0: per channel) or per group of {@code groupSize}
 * consecutive input columns of a row: {@code scale = max|w| / (2^(b−1) − 1)},
 * {@code q = clamp(round(w / scale), −(2^(b−1) − 1), 2^(b−1) − 1)}, dequantized as {@code q · scale}.
 * The grid is symmetric: the code −2^(b−1) is never used. A group of zeros has scale 0 and codes 0.
 *
 * @param bits 8 or 4
 * @param groupSize 0 for one scale per output row, else the columns sharing a scale
 */
public record FakeQuant(int bits, int groupSize) {

  public FakeQuant {
    if (bits != 8 && bits != 4) {
      throw new IllegalArgumentException("bits (" + bits + ") must be 8 or 4");
    }
    if (groupSize < 0) {
      throw new IllegalArgumentException("group_size (" + groupSize + ") must be >= 1 (or 0 for per channel)");
    }
  }

  /** The largest code, 2^(b−1) − 1: 127 for int8, 7 for int4. */
  public int maxCode() {
    return (1 << (bits - 1)) - 1;
  }

  /** Scales per row of a weight with {@code in} columns. */
  public long groups(long in) {
    if (groupSize == 0) {
      return 1;
    }
    if (in % groupSize != 0) {
      throw new IllegalArgumentException("group_size (" + groupSize + ") does not divide the input width ("
          + in + ")");
    }
    return in / groupSize;
  }

  /** Integer codes (as fp32 values, shape of {@code w}) and scales (out, groups). */
  public record Quantized(NDArray codes, NDArray scales) {}

  /** Quantizes {@code w} (out, in); the results are computed on {@code w}'s manager. */
  public Quantized quantize(NDArray w) {
    if (w.getShape().dimension() != 2) {
      throw new IllegalArgumentException("fake quantization needs a (out, in) weight, got " + w.getShape());
    }
    long out = w.getShape().get(0);
    long in = w.getShape().get(1);
    long g = groups(in);
    NDArray grouped = w.reshape(out, g, in / g); // (out, groups, group)
    NDArray scales = grouped.abs().max(new int[] {2}, true).div(maxCode()); // (out, groups, 1)
    // A zero group divides by the smallest float instead of 0: its codes stay 0.
    NDArray codes = grouped.div(scales.maximum(Float.MIN_VALUE)).round().clip(-maxCode(), maxCode());
    return new Quantized(codes.reshape(out, in), scales.reshape(out, g)); // (out, in), (out, groups)
  }

  /** {@code codes · scale}, (out, in), from {@link #quantize}'s output. */
  public NDArray dequantize(NDArray codes, NDArray scales) {
    long out = codes.getShape().get(0);
    long in = codes.getShape().get(1);
    long g = scales.getShape().get(1);
    return codes.reshape(out, g, in / g).mul(scales.reshape(out, g, 1)).reshape(out, in); // (out, in)
  }

  /** Q(w): the weight quantized and dequantized, under {@code manager}. */
  public NDArray apply(NDArray w, NDManager manager) {
    NDArray view = Tensors.viewOn(w, manager);
    Quantized q = quantize(view.stopGradient());
    return dequantize(q.codes(), q.scales());
  }
}
