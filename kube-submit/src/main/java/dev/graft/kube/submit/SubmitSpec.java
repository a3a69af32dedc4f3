package dev.graft.kube.submit;

import dev.graft.trainer.plan.RunPlan;
import io.fabric8.kubernetes.api.model.Quantity;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * What {@code graft submit} creates: a checked run plan, the replicas of each role, where they
 * compute, the image, the trainer's volume size and, optionally, the sampler autoscaler's bounds.
 *
 * @param names the run's namespace and name
 * @param plan the run config, already checked by {@link RunPlan#of}
 * @param teachers teacher-service replicas; 0 uses the config's {@code teacher.endpoints}
 * @param samplers sampler-service replicas; at least 1 for an on-policy run
 * @param device where every role computes; {@code GPU} adds an {@code nvidia.com/gpu} limit per pod
 * @param image the graft image every role runs
 * @param storage the trainer's volume for checkpoints and published weights, e.g. {@code 10Gi}
 * @param autoscaleMax when above {@code samplers}, the trainer scales the sampler Deployment
 *     between {@code samplers} and this bound; 0 leaves the autoscaler off
 * @param tlsSecretPrefix the roles run mutual TLS with the certificates of the Secrets
 *     {@code PREFIX-teacher}, {@code PREFIX-sampler} and {@code PREFIX-trainer}; null: every role
 *     runs without TLS ({@code GRAFT_PLAINTEXT=true}, trusted clusters only)
 */
public record SubmitSpec(RunNames names, RunPlan plan, int teachers, int samplers, Device device, String image,
    String storage, int autoscaleMax, String tlsSecretPrefix) {

  /** The Secrets' prefix unless told otherwise: {@code graft-tls-teacher}, ... */
  public static final String DEFAULT_TLS_SECRET_PREFIX = "graft-tls";
  /** A Secret's name is a DNS-1123 subdomain; the longest role suffix is {@code -sampler}/{@code -teacher}/{@code -trainer}. */
  private static final Pattern SECRET_PREFIX =
      Pattern.compile("[a-z0-9]([-a-z0-9.]{0,243}[a-z0-9])?");

  /** Mutual TLS with the default Secrets. */
  public SubmitSpec(RunNames names, RunPlan plan, int teachers, int samplers, Device device, String image,
      String storage, int autoscaleMax) {
    this(names, plan, teachers, samplers, device, image, storage, autoscaleMax, DEFAULT_TLS_SECRET_PREFIX);
  }

  /** Where the roles compute. */
  public enum Device {
    CPU, GPU;

    /** The value of the roles' {@code --device} option. */
    public String flag() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * @throws IllegalArgumentException for a negative replica count, an on-policy run without
   *     samplers, no teachers and no {@code teacher.endpoints}, an empty image, a malformed volume
   *     size, an autoscaler bound below {@code samplers} or a Secret prefix that cannot begin a
   *     Secret's name
   */
  public SubmitSpec {
    if (names == null || plan == null || device == null) {
      throw new IllegalArgumentException("a submission needs names, a run plan and a device");
    }
    if (teachers < 0 || samplers < 0) {
      throw new IllegalArgumentException("--teachers (" + teachers + ") and --samplers (" + samplers
          + ") must be >= 0");
    }
    if (teachers == 0 && plan.teacher().endpoints().isEmpty()) {
      throw new IllegalArgumentException("--teachers 0 needs teacher-services elsewhere: set teacher.endpoints"
          + " in the run config, or give --teachers N >= 1");
    }
    if (plan.onpolicy().enabled() && samplers < 1) {
      throw new IllegalArgumentException("onpolicy.fraction " + plan.onpolicy().fraction()
          + " > 0 needs --samplers M >= 1 (sampler-services fetch the student's weights from this run's trainer)");
    }
    if (image == null || image.isBlank() || image.chars().anyMatch(Character::isWhitespace)) {
      throw new IllegalArgumentException("--image '" + image + "' must be an image reference without spaces,"
          + " e.g. registry.example.com/graft:0.1.0");
    }
    java.math.BigDecimal bytes;
    try {
      bytes = Quantity.getAmountInBytes(new Quantity(storage));
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("--storage '" + storage + "' must be a Kubernetes quantity such as 10Gi");
    }
    if (bytes.signum() <= 0) {
      throw new IllegalArgumentException("--storage (" + storage + ") must be positive");
    }
    if (tlsSecretPrefix != null && !SECRET_PREFIX.matcher(tlsSecretPrefix).matches()) {
      throw new IllegalArgumentException("--tls-secret-prefix '" + tlsSecretPrefix + "' must begin a Secret's name"
          + " (a DNS-1123 subdomain: a-z, 0-9, '-' and '.', starting and ending with a letter or digit)");
    }
    if (autoscaleMax != 0 && (autoscaleMax < samplers || samplers < 1 || !plan.onpolicy().enabled())) {
      throw new IllegalArgumentException("--autoscale-max (" + autoscaleMax + ") needs an on-policy run with"
          + " --samplers >= 1 and must be >= --samplers (" + samplers + ")");
    }
  }

  /** Whether the roles run mutual TLS (else plaintext). */
  public boolean tls() {
    return tlsSecretPrefix != null;
  }

  /**
   * Whether the trainer follows teachers or samplers of this run through the Kubernetes API
   * ({@code k8s:///} endpoints), and so needs its ServiceAccount and read access to EndpointSlices.
   */
  public boolean discovery() {
    return teachers > 0 || samplers > 0;
  }

  /** Whether the trainer runs the sampler autoscaler. */
  public boolean autoscale() {
    return autoscaleMax > 0;
  }

  /** The run config as the trainer reads it from the ConfigMap. */
  public String runYaml() {
    return plan.source().toYaml();
  }
}
