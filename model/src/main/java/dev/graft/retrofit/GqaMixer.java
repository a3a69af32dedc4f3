package dev.graft.retrofit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.graft.model.AttentionCore;
import dev.graft.model.DecodeStep;
import dev.graft.model.KvCache;
import dev.graft.model.LayerCache;
import dev.graft.model.Linear;
import dev.graft.model.Mixer;
import dev.graft.model.Scalars;
import dev.graft.model.Tensors;

/**
 * Attention on the path from the teacher's key/value heads to fewer (or more) grouped heads.
 *
 * <p>Its parameters are named as in a Llama checkpoint of the target architecture: {@code k_proj}
 * and {@code v_proj} hold the student's sKv heads. The teacher's projections are frozen buffers
 * ({@code teacher_k_proj.weight}, {@code teacher_v_proj.weight}), not parameters. At α = 0 the
 * layer runs the teacher's own projections (bit-identical to the teacher); at α = 1 it is plain
 * GQA with sKv heads; in between, each query head's key (value) projection is
 * {@code (1-α)·W_teacher[head's group] + α·W_student[head's group]}, so the layer caches one
 * key/value head per query head while it decodes.
 */
public final class GqaMixer extends Mixer implements InterpolatedMixer {

  /** Buffer names of the teacher's key and value projections, under the mixer. */
  public static final String TEACHER_K = "teacher_k_proj.weight";
  public static final String TEACHER_V = "teacher_v_proj.weight";

  private final AttentionCore core;
  private final int heads;
  private final int headDim;
  private final int teacherKv;
  private final int studentKv;
  private final NDArray teacherK; // (tKv·hd, D), frozen
  private final NDArray teacherV;
  private final Linear q;
  private final Linear k;
  private final Linear v;
  private final Linear o;
  private double alpha;

  public GqaMixer(AttentionCore core, int teacherKv, NDArray teacherK, NDArray teacherV,
      Linear q, Linear k, Linear v, Linear o, int studentKv) {
    this.core = core;
    this.heads = core.heads();
    this.headDim = core.headDim();
    this.teacherKv = teacherKv;
    this.studentKv = studentKv;
    this.teacherK = registerBuffer(TEACHER_K, teacherK);
    this.teacherV = registerBuffer(TEACHER_V, teacherV);
    this.q = registerChild("q_proj", q);
    this.k = registerChild("k_proj", k);
    this.v = registerChild("v_proj", v);
    this.o = registerChild("o_proj", o);
  }

  @Override
  public double alpha() {
    return alpha;
  }

  @Override
  public void setAlpha(double alpha) {
    this.alpha = InterpolatedMixer.checkAlpha(alpha);
  }

  @Override
  public NDArray forward(NDArray x) {
    KeyValue w = keyValue(x.getManager());
    return core.attend(x, q.weight(), w.k, w.v, o.weight(), w.heads);
  }

  /**
   * The keys and values of each slot, and the key/value projections at the α the cache was made
   * for: a blended layer's projections are computed once per decode state, not once per step
   * (decoding never changes weights, and a KV cache is only valid for the weights that made it).
   */
  private record Cache(KvCache kv, double alpha, KeyValue weights) implements LayerCache {
    @Override
    public long bytesPerSlot() {
      return kv.bytesPerSlot();
    }
  }

  @Override
  public LayerCache newCache(int slots, int context, NDManager manager) {
    KeyValue w = alpha == 0 || alpha == 1 ? keyValue(manager) : null;
    if (w == null) { // blended once, kept under the cache's manager
      try (NDManager scratch = manager.newSubManager()) {
        KeyValue blended = keyValue(scratch);
        w = new KeyValue(blended.k.duplicate(), blended.v.duplicate(), blended.heads);
        w.k.attach(manager);
        w.v.attach(manager);
      }
    }
    return new Cache(core.newCache(slots, context, w.heads, manager), alpha, w);
  }

  @Override
  public NDArray decode(NDArray x, DecodeStep step, LayerCache cache) {
    Cache c = (Cache) cache;
    if (c.alpha != alpha) {
      throw new IllegalStateException("the decode cache was made at alpha " + c.alpha + " but the layer is now at "
          + alpha + "; make a new decode state");
    }
    return core.decode(x, step, c.kv, q.weight(), c.weights.k, c.weights.v, o.weight(), c.weights.heads);
  }

  /** The key and value projections at the current α, with their number of heads. */
  private record KeyValue(NDArray k, NDArray v, int heads) {}

  private KeyValue keyValue(NDManager manager) {
    if (alpha == 0) {
      return new KeyValue(teacherK, teacherV, teacherKv);
    }
    if (alpha == 1) {
      return new KeyValue(k.weight(), v.weight(), studentKv);
    }
    return new KeyValue(blend(teacherK, k.weight(), manager), blend(teacherV, v.weight(), manager), heads);
  }

  /** (1-α)·perHead(teacher) + α·perHead(student), both (heads·hd, D). */
  private NDArray blend(NDArray teacherW, NDArray studentW, NDManager manager) {
    NDArray t = perHead(Tensors.viewOn(teacherW, manager), teacherKv);
    NDArray s = perHead(Tensors.viewOn(studentW, manager), studentKv);
    return Scalars.mul(t, (float) (1 - alpha)).add(Scalars.mul(s, (float) alpha));
  }

  /** (n·hd, D) → (heads·hd, D): each of the n heads repeated for the heads/n query heads it serves. */
  private NDArray perHead(NDArray w, int n) {
    long d = w.getShape().get(1);
    if (n == heads) {
      return w;
    }
    return w.reshape(n, 1, headDim, d).repeat(1, heads / n).reshape((long) heads * headDim, d);
  }
}
