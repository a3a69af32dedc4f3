package dev.graft.trainer.report;

/** A linear map from a data interval onto a pixel interval (which may run backwards, as y does). */
record Scale(double d0, double d1, double r0, double r1) {

  double at(double v) {
    return d1 == d0 ? (r0 + r1) / 2 : r0 + (v - d0) / (d1 - d0) * (r1 - r0);
  }
}
