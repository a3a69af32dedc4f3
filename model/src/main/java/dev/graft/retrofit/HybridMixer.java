package dev.graft.retrofit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.graft.model.Attention;
import dev.graft.model.DecodeStep;
import dev.graft.model.LayerCache;
import dev.graft.model.Linear;
import dev.graft.model.Mixer;
import dev.graft.model.Scalars;

/**
 * A converted layer of a hybrid student: the teacher's attention on the path to gated linear
 * attention ({@link GatedLinearAttention}), blending the two mixers' outputs,
 * {@code (1−α)·attention(x) + α·gla(x)}.
 *
 * <p>The new mixer's parameters carry the attention names: {@code q_proj} (C, H·N rows),
 * {@code k_proj} (B, KV·N rows), {@code v_proj} (x) and {@code o_proj}, plus {@code a_proj}
 * (H rows and a bias), the decay projection: {@code a_t = exp(−softplus(a_proj(x_t)))} per head.
 * Each head computes the first-order Taylor form of softmax attention, exp(s) ≈ 1 + s, with
 * decays in place of positions and normalised by the decay mass:
 *
 * <pre>
 *   y_t = Σ_{j≤t} w_tj (1 + C_t·B_j / √hd) x_j / Σ_{j≤t} w_tj,   w_tj = a_t a_{t−1} ··· a_{j+1}
 * </pre>
 *
 * <p>that is gated linear attention with C' = [C/√hd, 1], B' = [B, 1] (a state of (N+1) × hd),
 * divided by the decay mass z_t = a_t z_{t−1} + 1 (one more number per head). Plain linear
 * attention sums its values where softmax attention averages them; the constant feature and the
 * mass give the copied output projection outputs on the attention's own scale, so the
 * attention-initialised mixer starts close to the teacher. The normaliser is always &ge; 1,
 * however C and B train. There is no rotary embedding (position enters only through the decay, as
 * in Mamba-in-the-Llama). The teacher's projections are frozen buffers
 * ({@code teacher_q_proj.weight}, ...), so at α = 0 the layer runs the teacher's own attention
 * code and is bit-identical to it.
 *
 * <p>Decoding keeps the attention's key/value cache while α &lt; 1 and the recurrent state
 * ({@link GlaState}) while α &gt; 0: at α = 1 only the state, constant in the sequence's length.
 */
public final class HybridMixer extends Mixer implements InterpolatedMixer {

  /** Buffer names of the teacher's projections, under the mixer. */
  public static final String TEACHER_PREFIX = "teacher_";

  private final Attention teacher;
  private final GatedLinearAttention gla; // N and hd as configured
  private final GatedLinearAttention numerator; // C' and B' of N + 1
  private final GatedLinearAttention mass; // the decay mass: N = hd = 1
  private final Linear q;
  private final Linear k;
  private final Linear v;
  private final Linear o;
  private final Linear a;
  private final float scale;
  private double alpha;

  /**
   * @param teacher the teacher's attention, whose projections become frozen buffers
   * @param q C's projection (H·N, D); {@code k} B's (KV·N, D); {@code v} x's (KV·hd, D);
   *     {@code o} the output (D, H·hd); {@code a} the decay's (H, D) with a bias
   */
  public HybridMixer(Attention teacher, GatedLinearAttention gla, Linear q, Linear k, Linear v, Linear o,
      Linear a) {
    if (a.bias() == null) {
      throw new IllegalArgumentException("the decay projection a_proj needs a bias");
    }
    this.teacher = teacher;
    this.gla = gla;
    this.numerator = new GatedLinearAttention(gla.heads(), gla.kvHeads(), gla.stateSize() + 1, gla.headDim(),
        gla.chunk());
    this.mass = new GatedLinearAttention(gla.heads(), gla.kvHeads(), 1, 1, gla.chunk());
    String[] names = {"q_proj", "k_proj", "v_proj", "o_proj"};
    Linear[] projections = {teacher.q(), teacher.k(), teacher.v(), teacher.o()};
    for (int i = 0; i < names.length; i++) {
      registerBuffer(TEACHER_PREFIX + names[i] + ".weight", projections[i].weight());
      if (projections[i].bias() != null) {
        registerBuffer(TEACHER_PREFIX + names[i] + ".bias", projections[i].bias());
      }
    }
    this.q = registerChild("q_proj", q);
    this.k = registerChild("k_proj", k);
    this.v = registerChild("v_proj", v);
    this.o = registerChild("o_proj", o);
    this.a = registerChild("a_proj", a);
    this.scale = (float) (1 / Math.sqrt(gla.headDim()));
  }

  @Override
  public double alpha() {
    return alpha;
  }

  @Override
  public void setAlpha(double alpha) {
    this.alpha = InterpolatedMixer.checkAlpha(alpha);
  }

  /** The teacher's attention this layer replaces (its projections frozen). */
  public Attention teacherAttention() {
    return teacher;
  }

  public GatedLinearAttention gla() {
    return gla;
  }

  @Override
  public NDArray forward(NDArray x) {
    if (alpha == 0) {
      return teacher.forward(x);
    }
    if (alpha == 1) {
      return newMixer(x);
    }
    return blend(teacher.forward(x), newMixer(x));
  }

  /**
   * The new mixer alone (the layer at α = 1, whatever its α), differentiable: for aligning it to
   * the teacher's attention on the teacher's own mixer inputs.
   *
   * @param x (B, T, D) the mixer's input (after the layer's attention norm), first token at 0
   * @return (B, T, D)
   */
  public NDArray newMixer(NDArray x) {
    long b = x.getShape().get(0);
    long t = x.getShape().get(1);
    NDArray[] p = project(x, b, t);
    NDArray y = numerator.chunked(p[0], p[1], p[2], p[3], null).y(); // (B, H, T, hd)
    NDArray z = mass.chunked(p[5], p[4], p[4], p[3], null).y(); // (B, H, T, 1)
    return output(y.div(z), b, t);
  }

  /** (1−α)·attention + α·gla. */
  private NDArray blend(NDArray attention, NDArray linear) {
    return Scalars.mul(attention, (float) (1 - alpha)).add(Scalars.mul(linear, (float) alpha));
  }

  /**
   * C' = [C/√hd, 1] (B, H, T, N+1), B' = [B, 1] (B, KV, T, N+1), x (B, KV, T, hd), log a (B, H, T),
   * ones (B, KV, T, 1) and ones (B, H, T, 1): the decay mass's keys/values and queries.
   */
  private NDArray[] project(NDArray x, long b, long t) {
    NDManager m = x.getManager();
    NDArray one = m.ones(new Shape(b, gla.heads(), t, 1));
    NDArray oneKv = m.ones(new Shape(b, gla.kvHeads(), t, 1));
    NDArray c = Scalars.mul(split(q.forward(x), b, t, gla.heads(), gla.stateSize()), scale);
    NDArray bk = split(k.forward(x), b, t, gla.kvHeads(), gla.stateSize());
    NDArray xv = split(v.forward(x), b, t, gla.kvHeads(), gla.headDim());
    NDArray logDecay = a.forward(x).getNDArrayInternal().softPlus().neg().transpose(0, 2, 1); // (B, H, T)
    return new NDArray[] {NDArrays.concat(new NDList(c, one), 3), NDArrays.concat(new NDList(bk, oneKv), 3), xv,
        logDecay, oneKv, one};
  }

  /** (B, H, T, hd) → (B, T, D) through the output projection. */
  private NDArray output(NDArray y, long b, long t) {
    return o.forward(y.transpose(0, 2, 1, 3).reshape(b, t, (long) gla.heads() * gla.headDim()));
  }

  private static NDArray split(NDArray proj, long b, long t, int n, int width) {
    return proj.reshape(b, t, n, width).transpose(0, 2, 1, 3); // (B, n, T, width)
  }

  /** The caches of a decode state made at one α: attention's while α &lt; 1, the state while α &gt; 0. */
  private record Cache(LayerCache kv, GlaState state, double alpha) implements LayerCache {
    @Override
    public long bytesPerSlot() {
      return (kv == null ? 0 : kv.bytesPerSlot()) + (state == null ? 0 : state.bytesPerSlot());
    }
  }

  @Override
  public LayerCache newCache(int slots, int context, NDManager manager) {
    LayerCache kv = alpha < 1 ? teacher.newCache(slots, context, manager) : null;
    GlaState state = alpha > 0
        ? new GlaState(slots, gla.heads(), gla.stateSize() + 1, gla.headDim(), manager) : null;
    return new Cache(kv, state, alpha);
  }

  @Override
  public NDArray decode(NDArray x, DecodeStep step, LayerCache cache) {
    Cache c = (Cache) cache;
    if (c.alpha != alpha) {
      throw new IllegalStateException("the decode cache was made at alpha " + c.alpha + " but the layer is now at "
          + alpha + "; make a new decode state");
    }
    if (alpha == 0) {
      return teacher.decode(x, step, c.kv);
    }
    NDArray linear = decodeNewMixer(x, step, c.state);
    return alpha == 1 ? linear : blend(teacher.decode(x, step, c.kv), linear);
  }

  /** The recurrent form for one token per row, the chunked form from the slots' states for more. */
  private NDArray decodeNewMixer(NDArray x, DecodeStep step, GlaState state) {
    long b = step.rows();
    long t = step.tokens();
    NDArray[] p = project(x, b, t);
    NDArray[] before = state.read(step); // (B, H, N+1, hd) and (B, H, 1, 1)
    NDArray ones = p[5];
    GatedLinearAttention.Result y;
    GatedLinearAttention.Result z;
    if (t == 1) {
      y = numerator.step(p[0].squeeze(2), p[1].squeeze(2), p[2].squeeze(2), p[3].squeeze(2), before[0]);
      z = mass.step(ones.squeeze(2), p[4].squeeze(2), p[4].squeeze(2), p[3].squeeze(2), before[1]);
      state.write(step, y.state(), z.state());
      return output(y.y().div(z.y()).expandDims(2), b, 1);
    }
    // Padding tokens neither decay the state (log a = 0) nor add to it (B' = 0).
    float[] real = new float[(int) (b * t)];
    for (int r = 0; r < b; r++) {
      for (int i = 0; i < step.length(r); i++) {
        real[(int) (r * t + i)] = 1;
      }
    }
    NDArray mask = step.manager().create(real, new Shape(b, 1, t)); // (B, 1, T)
    NDArray keys = p[1].mul(mask.expandDims(3));
    NDArray logDecay = p[3].mul(mask);
    y = numerator.chunked(p[0], keys, p[2], logDecay, before[0]);
    z = mass.chunked(ones, p[4].mul(mask.expandDims(3)), p[4], logDecay, before[1]);
    state.write(step, y.state(), z.state());
    return output(y.y().div(z.y()), b, t);
  }
}
