package dev.graft.teacher.store;

import dev.graft.checkpoint.Dtype;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What a target store holds the answer to: which teacher, which tokenizer, which training
 * sequences (documents, packing and length), which request and at which precision. A run reads a
 * store only if every field equals the run's own; {@link #differences} names each one that does
 * not.
 *
 * @param modelFingerprint the teacher's model fingerprint ({@code TeacherInfo#modelFingerprint})
 * @param tokenizerFingerprint sha256 of the teacher's {@code tokenizer.json}
 * @param vocabSize the teacher's vocabulary size
 * @param documentsSha256 sha256 of the sorted ids of the training documents
 * @param split how the training documents were chosen (informative; not compared)
 * @param seqLen tokens per sequence (the run's {@code data.seq_len})
 * @param sequences how many training sequences the corpus packs into
 * @param tokensSha256 sha256 of every packed training sequence's input tokens, in order
 * @param k top-k tokens per position
 * @param temperature the temperature the teacher's log-probs were taken at
 * @param dtype the precision of the stored log-probs: F32, F16 or BF16
 */
public record StoreKey(String modelFingerprint, String tokenizerFingerprint, int vocabSize,
    String documentsSha256, String split, int seqLen, int sequences, String tokensSha256, int k,
    float temperature, Dtype dtype) {

  public StoreKey {
    if (!dtype.isFloat32Convertible()) {
      throw new IllegalArgumentException("a target store holds F32, F16 or BF16 values, not " + dtype);
    }
    if (k < 1 || k > vocabSize) {
      throw new IllegalArgumentException("store k (" + k + ") must be in [1, vocab " + vocabSize + "]");
    }
    if (seqLen < 1 || sequences < 0) {
      throw new IllegalArgumentException("store seq_len (" + seqLen + ") must be >= 1 and sequences ("
          + sequences + ") >= 0");
    }
  }

  /**
   * Every field in which this store's key differs from what a run needs, each as
   * {@code "field: store X, run Y"}; empty when the store fits.
   */
  public List<String> differences(StoreKey run) {
    List<String> out = new ArrayList<>();
    diff(out, "teacher model fingerprint", modelFingerprint, run.modelFingerprint);
    diff(out, "tokenizer fingerprint", tokenizerFingerprint, run.tokenizerFingerprint);
    diff(out, "vocabulary size", vocabSize, run.vocabSize);
    diff(out, "training documents (sha256)", documentsSha256, run.documentsSha256);
    diff(out, "seq_len", seqLen, run.seqLen);
    diff(out, "training sequences", sequences, run.sequences);
    diff(out, "training tokens (sha256)", tokensSha256, run.tokensSha256);
    diff(out, "k", k, run.k);
    diff(out, "temperature", temperature, run.temperature);
    diff(out, "dtype", dtype, run.dtype);
    return out;
  }

  /** The dtype's name as a run config writes it: fp32, fp16 or bf16. */
  public String dtypeName() {
    return dtype == Dtype.BF16 ? "bf16" : dtype.name().toLowerCase(Locale.ROOT).replace("f", "fp");
  }

  private static void diff(List<String> out, String field, Object store, Object run) {
    if (!store.equals(run)) {
      out.add(field + ": store " + store + ", run " + run);
    }
  }
}
