export function Home() {
  return (
    <div className="flex flex-1 items-center justify-center p-8 text-center opacity-80">
      <div>
        <img src="/favicon.svg" alt="" className="w-14 h-14 mx-auto mb-3" />
        <h1 className="text-xl font-semibold">Welcome to Hearth</h1>
        <p>Pick a room on the left, create one, or start a direct message. Press Ctrl+K to jump anywhere.</p>
      </div>
    </div>
  );
}
