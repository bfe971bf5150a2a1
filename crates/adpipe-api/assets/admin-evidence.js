// The text read in an ad's photo (policies with a [text_in_image]
// section): each line's box drawn over the photo, numbered, and the lines
// listed beside it with how sure the reader was, as evidence for the
// moderator. The boxes come in the original photo's pixels while the
// photo is shown at another size, so they are scaled by its shown size
// over its natural size, and drawn again whenever that changes (a resized
// window, a photo that loads later). A box is a polygon, not a rectangle:
// a line written at an angle has a rotated box.
//
// The lines are the submitter's (anything can be written in a photo):
// they are set as text (node(), textContent), never as markup.

import { node } from "./dom.js";

// An SVG element for `overlay`, in its namespace (read from the <svg> of
// the page, so no URL is written here).
function svgIn(overlay, tag, attributes) {
  const element = document.createElementNS(overlay.namespaceURI, tag);
  for (const [name, value] of Object.entries(attributes || {})) element.setAttribute(name, String(value));
  return element;
}

// A box's four [x, y] corners as numbers; null when it is anything else
// (the line is still listed, just not drawn).
function cornersOf(box) {
  if (!Array.isArray(box) || box.length !== 4) return null;
  const points = box.map((point) => (Array.isArray(point) && point.length === 2 ? point.map(Number) : null));
  return points.every((point) => point && point.every(Number.isFinite)) ? points : null;
}

// The lines of an answer's `text_in_image`: objects only, each with its
// text (a string), its corners (or null) and its confidence (or NaN).
function linesOf(value) {
  if (!Array.isArray(value)) return [];
  return value
    .filter((line) => line && typeof line === "object")
    .map((line) => ({
      text: typeof line.text === "string" ? line.text : "",
      corners: cornersOf(line.box),
      confidence: typeof line.confidence === "number" ? line.confidence : NaN,
    }));
}

function percent(confidence) {
  if (!Number.isFinite(confidence)) return "—";
  return Math.round(Math.min(1, Math.max(0, confidence)) * 100) + " %";
}

// Text in the photo of `image`: `overlay` is an <svg> over it (in a
// positioned figure), `section` holds the list `list` and is hidden when
// nothing was read. `show(lines)` shows another ad's lines.
export function textInImage({ image, overlay, section, list }) {
  let lines = [];
  const svg = (tag, attributes) => svgIn(overlay, tag, attributes);

  // The boxes at the photo's size now; nothing while it is not shown.
  const draw = () => {
    overlay.replaceChildren();
    // Fractions of a pixel count (clientWidth rounds them away): a box
    // is placed where the photo is drawn, to the subpixel.
    const shownAt = image.getBoundingClientRect();
    const frame = image.offsetParent;
    const { width, height } = shownAt;
    const drawable = lines.some((line) => line.corners);
    const loaded = !image.hidden && image.complete && image.naturalWidth > 0 && image.naturalHeight > 0;
    if (!drawable || !loaded || !frame || !width || !height) {
      overlay.dataset.boxes = "0";
      overlay.classList.remove("shown");
      return;
    }
    const scaleX = width / image.naturalWidth;
    const scaleY = height / image.naturalHeight;
    const frameAt = frame.getBoundingClientRect();
    overlay.style.left = shownAt.left - frameAt.left - frame.clientLeft + "px";
    overlay.style.top = shownAt.top - frameAt.top - frame.clientTop + "px";
    overlay.style.width = width + "px";
    overlay.style.height = height + "px";
    overlay.setAttribute("viewBox", "0 0 " + width + " " + height);
    let count = 0;
    lines.forEach((line, index) => {
      if (!line.corners) return;
      const shown = line.corners.map(([x, y]) => [x * scaleX, y * scaleY]);
      const points = shown.map(([x, y]) => x.toFixed(1) + "," + y.toFixed(1)).join(" ");
      const group = svg("g", { class: "text-box", "data-line": index + 1 });
      const title = svg("title");
      title.textContent = index + 1 + ": " + line.text;
      // A dark halo under a light edge: visible on light and dark photos.
      group.append(
        title,
        svg("polygon", { class: "text-box-halo", points }),
        svg("polygon", { class: "text-box-edge", points }),
      );
      // Its number at the top-left corner, kept inside the photo.
      const [x, y] = shown[0];
      const cx = Math.min(Math.max(x, 9), width - 9);
      const cy = Math.min(Math.max(y - 10, 9), height - 9);
      const number = svg("text", { class: "text-box-number", x: cx, y: cy });
      number.textContent = String(index + 1);
      group.append(svg("circle", { class: "text-box-badge", cx, cy, r: 9 }), number);
      overlay.append(group);
      count += 1;
    });
    overlay.dataset.boxes = String(count);
    overlay.classList.add("shown");
  };

  // A listed line points at its box while the pointer or focus is on it.
  const highlight = (index, on) => {
    const group = overlay.querySelector('[data-line="' + index + '"]');
    if (group) group.classList.toggle("active", on);
  };

  const renderList = () => {
    list.replaceChildren(
      ...lines.map((line, index) => {
        const item = node(
          "li",
          { "data-line": String(index + 1), tabindex: "0" },
          node("span", { class: "box-number", "aria-hidden": "true" }, String(index + 1)),
          node("span", { class: "photo-line" }, line.text === "" ? "(nothing legible)" : line.text),
          node("span", { class: "pct", title: "How sure the reader is" }, percent(line.confidence)),
        );
        for (const [event, on] of [["mouseenter", true], ["mouseleave", false], ["focus", true], ["blur", false]]) {
          item.addEventListener(event, () => highlight(index + 1, on));
        }
        return item;
      }),
    );
    section.hidden = !lines.length;
  };

  image.addEventListener("load", draw);
  new ResizeObserver(draw).observe(image);

  return {
    show(value) {
      lines = linesOf(value);
      renderList();
      draw();
    },
  };
}
