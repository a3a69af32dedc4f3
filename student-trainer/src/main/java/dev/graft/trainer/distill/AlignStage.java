package dev.graft.trainer.distill;

import ai.djl.ndarray.NDArray;
import dev.graft.model.DecoderLayer;
import dev.graft.retrofit.RetrofitStudent;
import dev.graft.teacher.ScoreRequest;
import dev.graft.teacher.Scores;
import java.util.List;

/**
 * The stages of the staged alignment before end-to-end distillation (MOHAWK stages 1 and 2). Each
 * trains every converted layer alone, at α = 1, on the teacher's own hidden states: what the
 * layer reads (its input) and what it should return (its target).
 */
public enum AlignStage {
  /** Stage 1: the layer's mixer, from the teacher's mixer input to the teacher attention's output. */
  MIXER(1, "mixer", "align.mixer_tokens"),
  /** Stage 2: the whole block, from the teacher's layer input to the teacher's layer output. */
  BLOCK(2, "block", "align.block_tokens");

  private final int number;
  private final String key;
  private final String budgetKey;

  AlignStage(int number, String key, String budgetKey) {
    this.number = number;
    this.key = key;
    this.budgetKey = budgetKey;
  }

  /** 1 or 2. */
  public int number() {
    return number;
  }

  /** {@code mixer} or {@code block}: the stage in reports and checkpoint directory names. */
  public String key() {
    return key;
  }

  /** The config key of this stage's budget. */
  public String budgetKey() {
    return budgetKey;
  }

  /** The layers this stage trains. */
  List<Integer> layers(RetrofitStudent student) {
    return this == MIXER ? student.convertedMixers() : student.convertedBlocks();
  }

  /** Whether parameter {@code name} belongs to what this stage trains in {@code layer}. */
  boolean trains(String name, int layer) {
    String block = "model.layers." + layer + ".";
    return name.startsWith(this == MIXER ? block + "self_attn." : block);
  }

  /** The teacher's points this stage needs of {@code layers}. */
  ScoreRequest.HiddenStates request(List<Integer> layers) {
    return this == MIXER ? new ScoreRequest.HiddenStates(layers, false, true, false, true)
        : new ScoreRequest.HiddenStates(layers, true, false, true, false);
  }

  /** What the layer reads: (B·T·D) values. */
  float[] input(Scores.Layer teacher) {
    return this == MIXER ? teacher.mixerInput() : teacher.input();
  }

  /** What the layer should return: (B·T·D) values. */
  float[] target(Scores.Layer teacher) {
    return this == MIXER ? teacher.mixerOutput() : teacher.output();
  }

  /** The student layer's output on {@code input} (B, T, D). */
  NDArray predict(DecoderLayer layer, NDArray input) {
    return this == MIXER ? layer.mixer().forward(input) : layer.forward(input);
  }

  /** "stage 1 (mixer)". */
  String label() {
    return "stage " + number + " (" + key + ")";
  }
}
