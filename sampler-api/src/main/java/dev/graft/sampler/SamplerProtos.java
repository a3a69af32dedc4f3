package dev.graft.sampler;

import dev.graft.proto.v1.DType;
import dev.graft.proto.v1.FinishReason;
import dev.graft.proto.v1.GenerateRequest;
import dev.graft.proto.v1.SamplingParameters;
import dev.graft.proto.v1.Tensor;
import dev.graft.service.Descriptions;
import dev.graft.service.WireTensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Converts between {@code graft.v1} sampler messages and the domain types. Decoding validates the
 * wire format (dtype, shape, byte count, lengths) and throws {@link IllegalArgumentException}
 * naming the field; the engine validates the values against the model.
 */
public final class SamplerProtos {

  private SamplerProtos() {}

  /** A decoded Generate request. */
  public record Decoded(List<int[]> prompts, SamplingParams params) {}

  /** Packs prompts of any lengths and their parameters into a request. */
  public static GenerateRequest encode(List<int[]> prompts, SamplingParams params) {
    int total = prompts.stream().mapToInt(p -> p.length).sum();
    int[] flat = new int[total];
    int[] lengths = new int[prompts.size()];
    int at = 0;
    for (int i = 0; i < prompts.size(); i++) {
      System.arraycopy(prompts.get(i), 0, flat, at, prompts.get(i).length);
      lengths[i] = prompts.get(i).length;
      at += lengths[i];
    }
    SamplingParameters.Builder p = SamplingParameters.newBuilder()
        .setTemperature(params.temperature()).setTopP(params.topP()).setTopK(params.topK())
        .setMaxNewTokens(params.maxNewTokens()).setSeed(params.seed());
    Arrays.stream(params.stopTokens()).forEach(p::addStopTokens);
    return GenerateRequest.newBuilder().setPromptTokens(ints(flat)).setPromptLengths(ints(lengths))
        .setParams(p).build();
  }

  /** @throws IllegalArgumentException for a malformed request or invalid parameters */
  public static Decoded decode(GenerateRequest request) {
    if (request.getPromptLengths().getShapeCount() != 1 || request.getPromptTokens().getShapeCount() != 1) {
      throw new IllegalArgumentException("prompt_tokens and prompt_lengths must be 1-D, got shapes "
          + Descriptions.list(request.getPromptTokens().getShapeList()) + " and "
          + Descriptions.list(request.getPromptLengths().getShapeList()));
    }
    int[] lengths = decodeInts(request.getPromptLengths(), "prompt_lengths");
    int[] flat = decodeInts(request.getPromptTokens(), "prompt_tokens");
    if (lengths.length == 0) {
      throw new IllegalArgumentException("a request needs at least one prompt (prompt_lengths is empty)");
    }
    List<int[]> prompts = new ArrayList<>(lengths.length);
    long at = 0;
    for (int i = 0; i < lengths.length; i++) {
      if (lengths[i] < 1) {
        throw new IllegalArgumentException("prompt " + i + " has length " + lengths[i]
            + "; every prompt needs >= 1 token");
      }
      if (at + lengths[i] > flat.length) {
        break;
      }
      prompts.add(Arrays.copyOfRange(flat, (int) at, (int) at + lengths[i]));
      at += lengths[i];
    }
    long sum = Arrays.stream(lengths).asLongStream().sum();
    if (sum != flat.length) {
      throw new IllegalArgumentException("prompt_lengths sum to " + sum + " but prompt_tokens holds "
          + flat.length + " ids");
    }
    return new Decoded(prompts, params(request.getParams()));
  }

  private static SamplingParams params(SamplingParameters p) {
    int[] stops = new int[p.getStopTokensCount()];
    for (int i = 0; i < stops.length; i++) {
      int s = p.getStopTokens(i);
      stops[i] = s < 0 ? Integer.MAX_VALUE : s; // uint32 above 2^31: out of any vocabulary
    }
    return new SamplingParams(p.hasTemperature() ? p.getTemperature() : 1f,
        p.hasTopP() ? p.getTopP() : 1f, clamp(p.getTopK()), clamp(p.getMaxNewTokens()), stops,
        p.getSeed());
  }

  /** uint32 fields read as int: values above 2^31 are clamped rather than turned negative. */
  private static int clamp(int uint32) {
    return uint32 < 0 ? Integer.MAX_VALUE : uint32;
  }

  public static dev.graft.proto.v1.Rollout encode(int index, Rollout r) {
    return dev.graft.proto.v1.Rollout.newBuilder().setIndex(index).setTokens(ints(r.tokens()))
        .setLogProbs(floats(r.logProbs())).setPolicyVersion(r.policyVersion()).setPolicyEpoch(r.policyEpoch())
        .setFinish(finish(r.finish())).build();
  }

  /** @throws IllegalArgumentException for a malformed rollout */
  public static Rollout decode(dev.graft.proto.v1.Rollout r, int[] prompt) {
    int[] tokens = decodeInts(r.getTokens(), "rollout tokens");
    float[] logProbs = decodeFloats(r.getLogProbs(), "rollout log_probs");
    if (tokens.length != logProbs.length) {
      throw new IllegalArgumentException("rollout " + r.getIndex() + " has " + tokens.length
          + " tokens but " + logProbs.length + " log-probs");
    }
    Rollout.Finish finish = switch (r.getFinish()) {
      case FINISH_REASON_STOP_TOKEN -> Rollout.Finish.STOP_TOKEN;
      case FINISH_REASON_MAX_NEW_TOKENS -> Rollout.Finish.MAX_NEW_TOKENS;
      case FINISH_REASON_CONTEXT_FULL -> Rollout.Finish.CONTEXT_FULL;
      default -> throw new IllegalArgumentException("rollout " + r.getIndex()
          + " has no valid finish reason: " + r.getFinish());
    };
    return new Rollout(prompt, tokens, logProbs, r.getPolicyVersion(), finish, r.getPolicyEpoch());
  }

  /** The wire description of a replica serving {@code info} with the given capacity. */
  public static dev.graft.proto.v1.SamplerInfo info(SamplerInfo info, int slots, int maxQueuedSequences,
      int maxNewTokensLimit) {
    return dev.graft.proto.v1.SamplerInfo.newBuilder().setVocabSize(info.vocabSize())
        .setMaxSequenceLength(info.maxSequenceLength()).setPolicyVersion(info.policyVersion())
        .setPolicyEpoch(info.policyEpoch()).setModelFingerprint(info.modelFingerprint())
        .setSlots(slots).setMaxQueuedSequences(maxQueuedSequences)
        .setMaxNewTokensLimit(maxNewTokensLimit).build();
  }

  public static SamplerInfo info(dev.graft.proto.v1.SamplerInfo info) {
    return new SamplerInfo(info.getVocabSize(), info.getMaxSequenceLength(), info.getPolicyVersion(),
        info.getPolicyEpoch(), info.getModelFingerprint());
  }

  private static FinishReason finish(Rollout.Finish f) {
    return switch (f) {
      case STOP_TOKEN -> FinishReason.FINISH_REASON_STOP_TOKEN;
      case MAX_NEW_TOKENS -> FinishReason.FINISH_REASON_MAX_NEW_TOKENS;
      case CONTEXT_FULL -> FinishReason.FINISH_REASON_CONTEXT_FULL;
    };
  }

  private static Tensor ints(int[] values) {
    return WireTensors.ids(values, 0, values.length, DType.DTYPE_INT32, values.length);
  }

  private static Tensor floats(float[] values) {
    return WireTensors.values(values);
  }

  private static int[] decodeInts(Tensor t, String what) {
    return WireTensors.decodeIds(t, what);
  }

  private static float[] decodeFloats(Tensor t, String what) {
    return WireTensors.decodeValues(t, what, List.of(DType.DTYPE_FLOAT32));
  }
}
