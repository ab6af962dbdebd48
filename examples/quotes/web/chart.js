// A live line chart on a canvas: the last `capacity` prices of one
// symbol, scaled to their own range. No dependencies.

export class LineChart {
  constructor(canvas, capacity = 240) {
    this.canvas = canvas;
    this.capacity = capacity;
    this.points = [];
    this.pending = false;
  }

  /** Adds a price; the chart redraws at the next animation frame. */
  add(price) {
    this.points.push(price);
    if (this.points.length > this.capacity) this.points.splice(0, this.points.length - this.capacity);
    if (!this.pending) {
      this.pending = true;
      requestAnimationFrame(() => {
        this.pending = false;
        this.draw();
      });
    }
  }

  draw() {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth * ratio;
    const height = canvas.clientHeight * ratio;
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, width, height);
    const points = this.points;
    if (points.length < 2) return;
    let low = Math.min(...points);
    let high = Math.max(...points);
    if (high - low < 0.01) {
      low -= 0.5;
      high += 0.5;
    }
    const pad = 6 * ratio;
    const x = (i) => pad + (i * (width - 2 * pad)) / (this.capacity - 1);
    const y = (p) => height - pad - ((p - low) * (height - 2 * pad)) / (high - low);
    ctx.strokeStyle = "#2a3642";
    ctx.lineWidth = 1;
    for (const level of [low, (low + high) / 2, high]) {
      ctx.beginPath();
      ctx.moveTo(pad, y(level));
      ctx.lineTo(width - pad, y(level));
      ctx.stroke();
    }
    ctx.strokeStyle = points[points.length - 1] >= points[0] ? "#5ccf7a" : "#ef6b6b";
    ctx.lineWidth = 1.5 * ratio;
    ctx.beginPath();
    points.forEach((p, i) => (i === 0 ? ctx.moveTo(x(i), y(p)) : ctx.lineTo(x(i), y(p))));
    ctx.stroke();
    canvas.dataset.drawn = String(points.length);
  }
}
