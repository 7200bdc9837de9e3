// The usage chart above the log: credits in and out per day for the last 30 days, of the account the
// log's filter names (or every account the person manages). The picture is reporting's SVG, placed
// inline so its <title> and <desc> name it for screen readers; the figures are also a visually
// hidden table, from the JSON the public API answers.

import { getJson, getRaw, query } from "./api.js";
import { $, credits, el } from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";

export function usageChart() {
  const figure = $("#usage");
  const picture = $("#usage-picture");
  const figures = $("#usage-figures-body");
  let loading = null;

  async function refresh(account) {
    loading?.abort();
    const controller = new AbortController();
    loading = controller;
    const wanted = query({ account: account || undefined });
    try {
      const [usage, response] = await Promise.all([
        getJson(`/usage${wanted}`, { signal: controller.signal }),
        getRaw(`/usage.svg${wanted}`, { signal: controller.signal }),
      ]);
      // Parsed as SVG, never as HTML: nothing in it can run (and the page's policy forbids inline scripts).
      const svg = new DOMParser().parseFromString(await response.text(), "image/svg+xml").documentElement;
      if (controller !== loading) return;
      if (svg.namespaceURI !== SVG || svg.localName !== "svg") throw new Error("not a chart");
      picture.replaceChildren(document.importNode(svg, true));
      figures.replaceChildren(...usage.days.map((day) => el("tr", {},
        el("th", { scope: "row", text: day.date }),
        el("td", { className: "num", text: credits(day.credits_in) }),
        el("td", { className: "num", text: credits(day.credits_out) }))));
      figure.hidden = false;
    } catch (problem) {
      // The chart is an extra over the log: when it cannot be had (no account to chart), it is not shown.
      if (problem.name !== "AbortError" && controller === loading) figure.hidden = true;
    }
  }

  return { refresh };
}
