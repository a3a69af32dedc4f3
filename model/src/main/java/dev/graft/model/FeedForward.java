package dev.graft.model;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;

/** SwiGLU MLP: {@code down(silu(gate(x)) * up(x))}. */
public final class FeedForward extends Module {

  private final Linear gate;
  private final Linear up;
  private final Linear down;

  public FeedForward(Linear gate, Linear up, Linear down) {
    this.gate = registerChild("gate_proj", gate);
    this.up = registerChild("up_proj", up);
    this.down = registerChild("down_proj", down);
  }

  public NDArray forward(NDArray x) {
    NDArray g = gate.forward(x); // (B, T, I)
    NDArray silu = g.mul(Activation.sigmoid(g));
    return down.forward(silu.mul(up.forward(x))); // (B, T, D)
  }
}
