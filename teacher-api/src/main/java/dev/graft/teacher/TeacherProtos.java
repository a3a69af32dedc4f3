package dev.graft.teacher;

import dev.graft.data.TokenBatch;
import dev.graft.proto.v1.DType;
import dev.graft.proto.v1.FullOutput;
import dev.graft.proto.v1.HiddenStatesOutput;
import dev.graft.proto.v1.ModelInfo;
import dev.graft.proto.v1.OutputKind;
import dev.graft.proto.v1.TargetsOutput;
import dev.graft.proto.v1.TopKOutput;
import dev.graft.service.WireTensors;
import java.util.List;

/**
 * Translations between the teacher's domain types and its {@code graft.v1} messages, shared by
 * the server and the client. Decoding validates the message's form and throws
 * {@link IllegalArgumentException} with an actionable message; limits are checked later by
 * {@link TeacherLimits}.
 */
public final class TeacherProtos {

  /** Log-prob dtypes a teacher returns. */
  public static final List<DType> VALUE_TYPES =
      List.of(DType.DTYPE_FLOAT32, DType.DTYPE_FLOAT16, DType.DTYPE_BFLOAT16);

  private TeacherProtos() {}

  /** A decoded score request: B rows of T ids, what to return, and in which dtype. */
  public record Decoded(TokenBatch tokens, ScoreRequest request, DType valueType) {}

  /** The wire form of a request. */
  public static dev.graft.proto.v1.ScoreRequest encode(TokenBatch tokens, ScoreRequest request,
      DType valueType) {
    var b = dev.graft.proto.v1.ScoreRequest.newBuilder()
        .setTokens(WireTensors.ids(tokens))
        .setTemperature(request.temperature())
        .setValueDtype(valueType(valueType));
    if (request instanceof ScoreRequest.TopK topK) {
      b.setTopK(TopKOutput.newBuilder().setK(topK.k()));
    } else if (request instanceof ScoreRequest.Targets t) {
      b.setTargets(TargetsOutput.newBuilder().setIds(WireTensors.ids(t.targets())));
    } else if (request instanceof ScoreRequest.HiddenStates h) {
      b.clearTemperature().setHiddenStates(HiddenStatesOutput.newBuilder().addAllLayers(h.layers())
          .setLayerInput(h.layerInput()).setMixerInput(h.mixerInput())
          .setLayerOutput(h.layerOutput()).setMixerOutput(h.mixerOutput()));
    } else {
      b.setFull(FullOutput.getDefaultInstance());
    }
    return b.build();
  }

  /** The domain form of a request; an unset output kind or bad field is rejected. */
  public static Decoded decode(dev.graft.proto.v1.ScoreRequest proto) {
    if (!proto.hasTokens()) {
      throw new IllegalArgumentException("score request has no tokens: set a (batch, time) tensor");
    }
    TokenBatch tokens = WireTensors.decodeTokenBatch(proto.getTokens(), "tokens");
    float tau = proto.hasTemperature() ? proto.getTemperature() : 1f;
    ScoreRequest request = switch (proto.getOutputCase()) {
      case TOP_K -> new ScoreRequest.TopK(proto.getTopK().getK(), tau);
      case FULL -> new ScoreRequest.Full(tau);
      case TARGETS -> new ScoreRequest.Targets(
          WireTensors.decodeTokenBatch(proto.getTargets().getIds(), "targets"), tau);
      case HIDDEN_STATES -> hiddenStates(proto.getHiddenStates());
      default -> throw new IllegalArgumentException(
          "score request has no output kind: set one of top_k, full, targets or hidden_states");
    };
    return new Decoded(tokens, request, valueType(proto.getValueDtype()));
  }

  private static ScoreRequest.HiddenStates hiddenStates(HiddenStatesOutput h) {
    List<Integer> layers = new java.util.ArrayList<>(h.getLayersCount());
    for (int layer : h.getLayersList()) {
      if (layer < 0) { // a uint32 above Integer.MAX_VALUE
        throw new IllegalArgumentException("hidden_states layer index "
            + Integer.toUnsignedString(layer) + " is outside the model's layers");
      }
      layers.add(layer);
    }
    return new ScoreRequest.HiddenStates(layers, h.getLayerInput(), h.getMixerInput(),
        h.getLayerOutput(), h.getMixerOutput());
  }

  /** The requested log-prob dtype; unspecified means FLOAT32. */
  public static DType valueType(DType requested) {
    if (requested == DType.DTYPE_UNSPECIFIED) {
      return DType.DTYPE_FLOAT32;
    }
    if (!VALUE_TYPES.contains(requested)) {
      throw new IllegalArgumentException("value_dtype " + requested
          + " is not supported; use DTYPE_FLOAT32, DTYPE_FLOAT16 or DTYPE_BFLOAT16");
    }
    return requested;
  }

  /**
   * What a teacher says about its hidden states.
   *
   * @param maxHiddenStateBytes the most value bytes one hidden_states answer may hold
   */
  public record HiddenStateInfo(int numHiddenLayers, int hiddenSize, long maxHiddenStateBytes) {}

  /** {@link #modelInfo(TeacherInfo, int)} for a teacher that also returns hidden states. */
  public static ModelInfo modelInfo(TeacherInfo info, int chunkBytes, HiddenStateInfo hidden) {
    return modelInfo(info, chunkBytes).toBuilder()
        .addSupportedOutputs(OutputKind.OUTPUT_KIND_HIDDEN_STATES)
        .setNumHiddenLayers(hidden.numHiddenLayers())
        .setHiddenSize(hidden.hiddenSize())
        .setMaxHiddenStateBytes(hidden.maxHiddenStateBytes())
        .build();
  }

  /** The wire description of a teacher that sends chunks of at most {@code chunkBytes}. */
  public static ModelInfo modelInfo(TeacherInfo info, int chunkBytes) {
    return ModelInfo.newBuilder()
        .setArchitecture(info.architecture())
        .setVocabSize(info.vocabSize())
        .setTokenizerFingerprint(info.tokenizerFingerprint())
        .setModelFingerprint(info.modelFingerprint())
        .setMaxSequenceLength(info.maxSequenceLength())
        .setMaxTokensPerRequest(info.maxTokensPerRequest())
        .setParameterCount(info.parameterCount())
        .setKvCacheBytesPerToken(info.kvCacheBytesPerToken())
        .addSupportedOutputs(OutputKind.OUTPUT_KIND_TOP_K)
        .addSupportedOutputs(OutputKind.OUTPUT_KIND_FULL)
        .addSupportedOutputs(OutputKind.OUTPUT_KIND_TARGETS)
        .addAllSupportedValueDtypes(VALUE_TYPES)
        .setMaxChunkBytes(chunkBytes)
        .build();
  }

  /** The domain description of a teacher. */
  public static TeacherInfo teacherInfo(ModelInfo m) {
    return new TeacherInfo(m.getArchitecture(), m.getVocabSize(), m.getTokenizerFingerprint(),
        m.getModelFingerprint(), m.getMaxSequenceLength(), m.getMaxTokensPerRequest(),
        m.getParameterCount(), m.getKvCacheBytesPerToken());
  }
}
