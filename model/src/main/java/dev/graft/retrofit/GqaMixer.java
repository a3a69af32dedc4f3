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
 * ({@code teacher_k_proj.weight}, {@code teacher_v_proj.weight}, and their {@code .bias} when the
 * model has attention biases), not parameters. At α = 0 the
 * layer runs the teacher's own projections (bit-identical to the teacher); at α = 1 it is plain
 * GQA with sKv heads; in between, each query head's key (value) projection is
 * {@code (1-α)·W_teacher[head's group] + α·W_student[head's group]} (biases likewise), so the layer caches one
 * key/value head per query head while it decodes.
 */
public final class GqaMixer extends Mixer implements InterpolatedMixer {

  /** Buffer names of the teacher's key and value projections, under the mixer. */
  public static final String TEACHER_K = "teacher_k_proj.weight";
  public static final String TEACHER_V = "teacher_v_proj.weight";
  public static final String TEACHER_K_BIAS = "teacher_k_proj.bias";
  public static final String TEACHER_V_BIAS = "teacher_v_proj.bias";

  private final AttentionCore core;
  private final int heads;
  private final int headDim;
  private final int teacherKv;
  private final int studentKv;
  private final Linear teacherK; // (tKv·hd, D) and bias (tKv·hd) when the model has one, frozen
  private final Linear teacherV;
  private final Linear q;
  private final Linear k;
  private final Linear v;
  private final Linear o;
  private double alpha;

  /**
   * @param teacherK the teacher's key projection, whose weight (and bias) become frozen buffers;
   *     {@code teacherV} likewise
   */
  public GqaMixer(AttentionCore core, int teacherKv, Linear teacherK, Linear teacherV,
      Linear q, Linear k, Linear v, Linear o, int studentKv) {
    this.core = core;
    this.heads = core.heads();
    this.headDim = core.headDim();
    this.teacherKv = teacherKv;
    this.studentKv = studentKv;
    if ((teacherK.bias() == null) != (k.bias() == null)) {
      throw new IllegalArgumentException("the teacher's and the student's key projections must both have"
          + " a bias or both have none");
    }
    this.teacherK = teacherK;
    this.teacherV = teacherV;
    registerBuffer(TEACHER_K, teacherK.weight());
    registerBuffer(TEACHER_V, teacherV.weight());
    if (teacherK.bias() != null) {
      registerBuffer(TEACHER_K_BIAS, teacherK.bias());
      registerBuffer(TEACHER_V_BIAS, teacherV.bias());
    }
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
    return core.attend(x, q, w.k, w.v, o, w.heads);
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
        w = new KeyValue(keep(blended.k, manager), keep(blended.v, manager), blended.heads);
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
    return core.decode(x, step, c.kv, q, c.weights.k, c.weights.v, o, c.weights.heads);
  }

  /** A copy of {@code p}'s arrays under {@code manager}. */
  private static Linear keep(Linear p, NDManager manager) {
    NDArray w = p.weight().duplicate();
    w.attach(manager);
    NDArray b = p.bias() == null ? null : p.bias().duplicate();
    if (b != null) {
      b.attach(manager);
    }
    return new Linear(w, b);
  }

  /** The key and value projections at the current α, with their number of heads. */
  private record KeyValue(Linear k, Linear v, int heads) {}

  private KeyValue keyValue(NDManager manager) {
    if (alpha == 0) {
      return new KeyValue(teacherK, teacherV, teacherKv);
    }
    if (alpha == 1) {
      return new KeyValue(k, v, studentKv);
    }
    return new KeyValue(blend(teacherK, k, manager), blend(teacherV, v, manager), heads);
  }

  /** Weight and bias each (1-α)·perHead(teacher) + α·perHead(student), (heads·hd, D) and (heads·hd). */
  private Linear blend(Linear teacher, Linear student, NDManager manager) {
    NDArray w = blend(teacher.weight(), student.weight(), manager);
    return new Linear(w, teacher.bias() == null ? null : blend(teacher.bias(), student.bias(), manager));
  }

  private NDArray blend(NDArray teacherW, NDArray studentW, NDManager manager) {
    NDArray t = perHead(Tensors.viewOn(teacherW, manager), teacherKv);
    NDArray s = perHead(Tensors.viewOn(studentW, manager), studentKv);
    return Scalars.mul(t, (float) (1 - alpha)).add(Scalars.mul(s, (float) alpha));
  }

  /**
   * (n·hd, D) → (heads·hd, D), or a bias (n·hd) → (heads·hd): each of the n heads repeated for
   * the heads/n query heads it serves.
   */
  private NDArray perHead(NDArray w, int n) {
    if (n == heads) {
      return w;
    }
    long d = w.getShape().dimension() == 2 ? w.getShape().get(1) : 1;
    NDArray rows = w.reshape(n, 1, headDim, d).repeat(1, heads / n); // (n, heads/n, hd, D)
    return w.getShape().dimension() == 2 ? rows.reshape((long) heads * headDim, d)
        : rows.reshape((long) heads * headDim);
  }
}
