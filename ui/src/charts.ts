/** Report charts (chart.js, tree-shaken): bars for hours and categories, a doughnut for tenders. */
import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  DoughnutController,
  Legend,
  LinearScale,
  Tooltip,
} from "chart.js";
import type { Series } from "./reports";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, DoughnutController, ArcElement, Tooltip, Legend);

const PALETTE = ["#0f766e", "#2563eb", "#d97706", "#7c3aed", "#db2777", "#65a30d", "#0891b2", "#9ca3af"];
const live: Chart[] = [];

/** Destroy the charts of the previous render (the DOM is rebuilt on every render). */
export function destroyCharts(): void {
  while (live.length) live.pop()?.destroy();
}

export interface ChartSpec {
  canvas: HTMLCanvasElement;
  kind: "bar" | "hbar" | "doughnut";
  series: Series;
  /** Formats an amount for axes and tooltips (locale currency). */
  money: (n: number) => string;
  label: string;
}

export function drawChart(spec: ChartSpec): void {
  const { series, money } = spec;
  const doughnut = spec.kind === "doughnut";
  const chart = new Chart(spec.canvas, {
    type: doughnut ? "doughnut" : "bar",
    data: {
      labels: series.labels,
      datasets: [
        {
          label: spec.label,
          data: series.values,
          backgroundColor: doughnut ? PALETTE.slice(0, series.values.length) : PALETTE[0],
          borderRadius: doughnut ? 0 : 4,
          maxBarThickness: 56,
        },
      ],
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      indexAxis: spec.kind === "hbar" ? "y" : "x",
      plugins: {
        legend: { display: doughnut, position: "right" },
        tooltip: {
          callbacks: {
            label: (ctx) => `${ctx.label}: ${money(Number(ctx.raw))} (×${series.counts[ctx.dataIndex] ?? 0})`,
          },
        },
      },
      scales: doughnut
        ? {}
        : {
            [spec.kind === "hbar" ? "x" : "y"]: { beginAtZero: true, ticks: { callback: (v: string | number) => money(Number(v)) } },
          },
    },
  });
  live.push(chart);
}
