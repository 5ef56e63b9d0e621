/* The poster's Print button (an inline onclick would need 'unsafe-inline' in the CSP). */
document.getElementById("print").addEventListener("click", function () { window.print(); });
