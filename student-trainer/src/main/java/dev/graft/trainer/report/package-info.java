/**
 * Reports people look at: a run's {@code report.html} ({@link dev.graft.trainer.report.RunReportPage})
 * and an experiment's ({@link dev.graft.trainer.report.ExperimentReportPage}), each one
 * self-contained page of HTML tables and inline SVG charts drawn by a small chart builder
 * ({@link dev.graft.trainer.report.LineChart}, {@link dev.graft.trainer.report.BarChart}).
 * Every plotted point and bar carries its values as {@code data-*} attributes and a tooltip, so
 * what a chart shows can be checked against the run's logs.
 */
package dev.graft.trainer.report;
