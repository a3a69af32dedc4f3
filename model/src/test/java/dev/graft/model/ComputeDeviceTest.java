package dev.graft.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ComputeDeviceTest {

  @ParameterizedTest
  @CsvSource({"cpu, cpu", "CPU, cpu", "auto, auto", "gpu, gpu:0", "gpu:0, gpu:0", "gpu:3, gpu:3", " Gpu:12 , gpu:12"})
  void parsesEachForm(String text, String expected) {
    assertEquals(expected, ComputeDevice.parse(text).toString());
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "cuda", "gpu:", "gpu:-1", "gpu:x", "cpu:1", "gpu0", "gpu:1234"})
  void refusesOtherForms(String text) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ComputeDevice.parse(text));
    assertTrue(e.getMessage().contains("expected auto, cpu, gpu or gpu:N"), e.getMessage());
  }

  @Test
  void aGpuTheEngineDoesNotSeeIsRefusedSayingHowManyItSees() {
    int gpus = Engine.getInstance().getGpuCount();
    ComputeDevice missing = new ComputeDevice(ComputeDevice.Kind.GPU, gpus);
    IllegalStateException e = assertThrows(IllegalStateException.class, missing::checkAvailable);
    assertTrue(e.getMessage().contains("device gpu:" + gpus + " requested but the PyTorch engine sees "
        + gpus + " GPU(s)"), e.getMessage());
    assertEquals(e.getMessage(), assertThrows(IllegalStateException.class, missing::newManager).getMessage(),
        "no manager is made on a device the engine does not see");
  }

  @Test
  void arraysOfItsManagerLiveOnItsDevice() {
    try (NDManager m = ComputeDevice.CPU.newManager()) {
      NDArray a = m.create(new float[] {1, 2});
      assertEquals(Device.cpu(), a.getDevice());
      assertEquals(Device.cpu(), m.newSubManager().create(1f).getDevice());
    }
    assertEquals(Engine.getInstance().defaultDevice(), ComputeDevice.AUTO.djl());
  }
}
