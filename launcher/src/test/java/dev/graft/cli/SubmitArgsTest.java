package dev.graft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.kube.submit.AutoscalePolicy;
import dev.graft.kube.submit.RunNames;
import dev.graft.kube.submit.RunObjects;
import dev.graft.kube.submit.SubmitSpec;
import dev.graft.service.HostPort;
import dev.graft.trainer.plan.RunConfig;
import dev.graft.trainer.plan.RunPlan;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * What {@code graft submit} writes into each pod is what the role commands read: the containers'
 * arguments parse with {@code graft}'s own command line, and the trainer's mounted config plus its
 * {@code --set}s make the plan that points at the run's Services.
 */
class SubmitArgsTest {

  @TempDir
  Path dir;

  private final RunObjects objects = new RunObjects(new SubmitSpec(new RunNames("ml", "r"),
      RunPlan.of(RunConfig.load(null, List.of("train.steps=500", "teacher.model=/models/base"))), 2, 3,
      SubmitSpec.Device.GPU, "graft:1", "1Gi", 6));

  private <T> T parse(List<String> args, Class<T> type) {
    CommandLine.ParseResult parsed = GraftCommand.commandLine().parseArgs(args.toArray(String[]::new));
    return type.cast(parsed.subcommand().commandSpec().userObject());
  }

  private List<String> args(String name) {
    for (HasMetadata o : objects.owned(null)) {
      if (o instanceof Deployment d && d.getMetadata().getName().equals(name)) {
        return d.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs();
      }
    }
    throw new AssertionError("no deployment " + name);
  }

  @Test
  void trainerArgs_makeThePlanOfTheRunWithItsServicesAsPeers() throws IOException {
    ConfigMap cm = (ConfigMap) objects.owned(null).get(0);
    Path mounted = dir.resolve(RunObjects.CONFIG_KEY);
    Files.writeString(mounted, cm.getData().get(RunObjects.CONFIG_KEY));
    List<String> args = new ArrayList<>(objects.trainer().getSpec().getTemplate().getSpec().getContainers().get(0)
        .getArgs());
    args.set(args.indexOf(RunObjects.CONFIG_DIR + "/" + RunObjects.CONFIG_KEY), mounted.toString());

    TrainerCommand trainer = parse(args, TrainerCommand.class);
    RunPlan plan = trainer.run.plan();

    assertEquals(List.of(new HostPort("k8s", "r-teacher.ml", 50051)), plan.teacher().endpoints());
    assertEquals(List.of(new HostPort("k8s", "r-sampler.ml", 50052)), plan.onpolicy().samplers());
    assertEquals(50053, plan.serverPort());
    assertEquals(9466, plan.metricsPort());
    assertEquals(Path.of("/var/lib/graft/run"), plan.output());
    assertEquals(Path.of("/models/base"), plan.teacher().model());
    assertEquals(500, plan.train().steps());
    assertEquals("gpu", trainer.device.device);
    assertEquals(new AutoscalePolicy(3, 6, AutoscalePolicy.DEFAULT_THRESHOLD, AutoscalePolicy.DEFAULT_WINDOW,
        AutoscalePolicy.DEFAULT_COOLDOWN), trainer.autoscale.policy(plan));
    assertEquals("r-sampler", trainer.autoscale.deployment);
    long podGrace = objects.trainer().getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds();
    assertTrue(trainer.stopGraceSeconds < podGrace, "--stop-grace-s " + trainer.stopGraceSeconds
        + " must end before terminationGracePeriodSeconds " + podGrace);
  }

  @Test
  void teacherAndSamplerArgs_parseAsTheirRoles() {
    TeacherCommand teacher = parse(args("r-teacher"), TeacherCommand.class);
    assertEquals(50051, teacher.port);
    assertEquals(9464, teacher.metricsPort);
    assertEquals(Path.of("/models/base"), teacher.checkpoint);
    assertEquals("gpu", teacher.device.device);

    SamplerCommand sampler = parse(args("r-sampler"), SamplerCommand.class);
    assertEquals("r-trainer.ml.svc.cluster.local:50053", sampler.trainer);
    assertEquals(50052, sampler.port);
    assertEquals(9465, sampler.metricsPort);
    assertEquals("gpu", sampler.device.device);
  }
}
