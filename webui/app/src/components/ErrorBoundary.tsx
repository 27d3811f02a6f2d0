import { Component, type ErrorInfo, type ReactNode } from 'react';

interface State {
  error: Error | null;
}

/** ErrorBoundary replaces a crashed screen with what went wrong and a way out. */
export class ErrorBoundary extends Component<{ children: ReactNode }, State> {
  state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    console.error('hearth: UI crashed', error, info.componentStack);
  }

  render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    return (
      <div role="alert" className="flex h-full items-center justify-center p-6">
        <div className="card bg-base-200 max-w-lg w-full">
          <div className="card-body">
            <h1 className="card-title">Something went wrong</h1>
            <p>
              Hearth hit an error it could not recover from. Your messages are safe on the node; reloading the
              page usually fixes this.
            </p>
            <pre className="bg-base-300 rounded p-2 text-xs whitespace-pre-wrap break-words">{error.message}</pre>
            <div className="card-actions justify-end">
              <button type="button" className="btn btn-primary" onClick={() => location.reload()}>
                Reload
              </button>
            </div>
          </div>
        </div>
      </div>
    );
  }
}
