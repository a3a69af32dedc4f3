package dev.graft.retrofit;

import ai.djl.ndarray.NDArray;
import dev.graft.model.AttentionCore;
import dev.graft.model.DecodeCache;
import dev.graft.model.Linear;
import dev.graft.model.Mixer;
import dev.graft.model.Scalars;
import dev.graft.model.Tensors;

/**
 * Attention on the path from the teacher's key/value heads to fewer (or more) grouped heads.
 *
 * <p>Its parameters are named as in a Llama checkpoint of the target architecture: {@code k_proj}
 * and {@code v_proj} hold the student's sKv heads. The teacher's projections are frozen buffers,
 * not parameters. At α = 0 the layer runs the teacher's own projections (bit-identical to the
 * teacher); at α = 1 it is plain GQA with sKv heads; in between, each query head's key (value)
 * projection is {@code (1-α)·W_teacher[head's group] + α·W_student[head's group]}.
 */
public final class GqaMixer extends Mixer implements InterpolatedMixer {

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
    this.teacherK = teacherK;
    this.teacherV = teacherV;
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
  public NDArray forward(NDArray x, int startPos, DecodeCache.Slot state) {
    if (alpha == 0) {
      return core.attend(x, startPos, state, q.weight(), teacherK, teacherV, o.weight(), teacherKv);
    }
    if (alpha == 1) {
      return core.attend(x, startPos, state, q.weight(), k.weight(), v.weight(), o.weight(), studentKv);
    }
    NDArray kw = blend(teacherK, k.weight(), x);
    NDArray vw = blend(teacherV, v.weight(), x);
    return core.attend(x, startPos, state, q.weight(), kw, vw, o.weight(), heads);
  }

  @Override
  public NDArray[] materializeKv(ai.djl.ndarray.NDManager manager) {
    NDArray[] out = new NDArray[2];
    NDArray[][] pairs = {{teacherK, k.weight()}, {teacherV, v.weight()}};
    for (int i = 0; i < 2; i++) {
      NDArray t = pairs[i][0];
      NDArray s = pairs[i][1];
      NDArray w;
      if (alpha == 0) {
        w = perHead(Tensors.viewOn(t, manager), teacherKv);
      } else if (alpha == 1) {
        w = perHead(Tensors.viewOn(s, manager), studentKv);
      } else {
        NDArray pt = perHead(Tensors.viewOn(t, manager), teacherKv);
        NDArray ps = perHead(Tensors.viewOn(s, manager), studentKv);
        w = Scalars.mul(pt, (float) (1 - alpha)).add(Scalars.mul(ps, (float) alpha));
      }
      out[i] = manager.create(w.toFloatArray(), w.getShape()); // (heads·hd, D), detached
    }
    return out;
  }

  /** (1-α)·perHead(teacher) + α·perHead(student), both (heads·hd, D). */
  private NDArray blend(NDArray teacherW, NDArray studentW, NDArray x) {
    NDArray t = perHead(Tensors.viewOn(teacherW, x.getManager()), teacherKv);
    NDArray s = perHead(Tensors.viewOn(studentW, x.getManager()), studentKv);
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
