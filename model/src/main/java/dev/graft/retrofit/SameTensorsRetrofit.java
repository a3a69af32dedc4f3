package dev.graft.retrofit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.graft.model.LlamaConfig;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A retrofit whose student keeps exactly the teacher's tensors (no new parameters, no frozen
 * buffers) and changes only how they are used — a window mask, quantized weights: its state is the
 * teacher's tensors, and building a student is assembling it from copies of them.
 */
interface SameTensorsRetrofit extends Retrofit {

  @Override
  default RetrofitStudent build(LlamaConfig teacher, Map<String, NDArray> teacherTensors, NDManager manager) {
    targetConfig(teacher);
    Map<String, NDArray> state = new LinkedHashMap<>();
    teacherTensors.forEach((n, t) -> state.put(n, t.duplicate()));
    return assemble(teacher, state, manager);
  }

  /** The teacher's tensors. */
  @Override
  default Map<String, List<Long>> stateShapes(LlamaConfig teacher) {
    return new LinkedHashMap<>(targetConfig(teacher).tensorShapes());
  }
}
